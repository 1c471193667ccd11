// The READMEs of galera, rabbitmq, wordpress and zookeeper, pasted as written (see readme-suite.ts).
import { readmeSuite } from './readme-suite.js';

readmeSuite("the examples' READMEs, pasted as written (2 of 2)", ['galera', 'rabbitmq', 'wordpress', 'zookeeper']);
