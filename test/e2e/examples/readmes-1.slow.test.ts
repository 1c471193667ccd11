// The READMEs of redis, etcd, postgres, kubia, patterns and mysql, pasted as written (see readme-suite.ts).
import { readmeSuite } from './readme-suite.js';

readmeSuite("the examples' READMEs, pasted as written (1 of 2)", ['redis', 'etcd', 'postgres', 'kubia', 'patterns', 'mysql']);
