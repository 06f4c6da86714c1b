// The package types only its index; this is its per-list module (dist/passwords.json.mjs).
declare module "@zxcvbn-ts/language-common/dist/passwords.json.mjs" {
  const passwords: string[];
  export default passwords;
}
