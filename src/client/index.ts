export * from './transport.js';
export * from './inprocess-transport.js';
export * from './http-transport.js';
export * from './client.js';
export * from './informer.js';
export * from './workqueue.js';
export * from './events.js';
