export { Subjects, type ControllerElected } from './subjects.js';
export { ControllerVerbs, BrokerVerbs, GroupVerbs } from './verbs.js';
export type * from './metadata.js';
export * from './controller.js';
export * from './broker.js';
export * from './groups.js';
export * from './topic-configs.js';
