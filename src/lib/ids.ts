import { v7 as uuidv7 } from 'uuid';

/** Time-ordered ids (UUIDv7): they index well and sort by creation. */
export const newId = (): string => uuidv7();
