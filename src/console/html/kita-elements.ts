/// <reference types="@kitajs/html" />
// The element and attribute types of @kitajs/html, named outside jsx-runtime.ts, whose own JSX namespace shadows them.
export type KitaElements = JSX.IntrinsicElements;
