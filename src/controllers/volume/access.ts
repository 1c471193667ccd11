// The access-mode rules are shared with the scheduler and the node agent, so they live in api/.
export { claimExclusivity, volumeAccessCheck, volumeAccessConflict, READ_WRITE_ONCE_CONFLICT, READ_WRITE_ONCE_POD_CONFLICT } from '../../api/volume-access.js';
