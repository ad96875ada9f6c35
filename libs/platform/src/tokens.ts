/** Injection tokens shared by the API and the worker (same modules, two processes). */
export const CONFIG = Symbol('CONFIG');
export const PRISMA = Symbol('PRISMA');
export const JOB_QUEUES = Symbol('JOB_QUEUES');
export const REDIS = Symbol('REDIS');
