/** cluster-key-slot ships no types: the hash slot (0–16383) of a Redis key, honouring its `{hash tag}`. */
declare module 'cluster-key-slot' {
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
