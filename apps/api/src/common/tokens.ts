/** Injection tokens of the API process (the shared ones live in @fundus/platform). */
export const OBJECT_STORE = Symbol('OBJECT_STORE');
export const API_CONFIG = Symbol('API_CONFIG');
