// petset's API client. A controller typically wires it like this:
//
//   const client = new Client(new InProcessTransport(server.handler));   // or fromKubeconfig(path)
//   const factory = new SharedInformerFactory(client);
//   const pods = factory.informerFor(resources.pods);
//   pods.addIndexer('owner', indexers.controllerUid);
//   const queue = new WorkQueue();
//   pods.addEventHandler({ onAdd: (p) => queue.add(keyOf(p)), ... });
//   factory.start();
//   await factory.waitForSync();
//   await runWorkers(queue, 5, async (key) => { ... });   // until queue.shutDown()
export * from './transport.js';
export * from './inprocess-transport.js';
export * from './http-transport.js';
export * from './client.js';
export * from './informer.js';
export * from './workqueue.js';
export * from './events.js';
