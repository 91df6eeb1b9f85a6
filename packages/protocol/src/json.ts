/**
 * JSON text that carries the type of what it encodes. The Pod answers from JSON text built
 * straight from stored wire forms (no parse and re-stringify); the brand lets its handlers say
 * which answer shape that text is, so a change to a shape fails to compile where it is used.
 */

/** JSON text of a `T`. */
export type Json<T> = string & { readonly __json: T };
/** JSON text of a `T` in pieces, sent one after the other (only the whole is valid JSON). */
export type JsonChunks<T> = readonly string[] & { readonly __json: T };

/** The JSON of a value, typed by it: the checked way to make a `Json<T>`. */
export const toJson = <T>(value: T): Json<T> => jsonText(JSON.stringify(value));
/**
 * Text the Pod built from stored wire forms, vouched for by the return type of the function that
 * built it (the store's answers): the one unchecked way to make a `Json<T>`.
 */
export const jsonText = <T>(text: string): Json<T> => text as Json<T>;
/** Pieces of text as `jsonText`. */
export const jsonChunks = <T>(chunks: readonly string[]): JsonChunks<T> => chunks as JsonChunks<T>;
