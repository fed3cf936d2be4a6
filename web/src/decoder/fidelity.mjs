// The fidelity a stream's index records for a decoder state (format.md section 5), as
// splatcast.codec.fidelity.state_fidelity: shared by the decoder (what it shows now) and the player's tile scheduler
// (what a tile would show after the pieces it considers).
import { fidelityDb } from "./container.mjs";

/**
 * The recorded fidelity (dB, Infinity = the top layer) of the state of an untiled index (or one tile's view) with
 * received[j] chunks of layer j, of which the set pending[j] only by their dc part; null when the file does not say
 * or the state is none of the measured ones (full pass, dc sweep, upgrade sweep).
 */
export function recordedFidelity(view, received, pending) {
  const L = view.layers;
  const started = [];
  for (let j = 0; j < L.length; j++) {
    const below = L.slice(0, j).every((l, i) => received[i] === l.chunks.length);
    if (received[j] || (L[j].chunks.length === 0 && below)) started.push(j);
  }
  if (!started.length) return null;
  const t = started[started.length - 1];
  const chunks = L[t].chunks;
  for (let j = 0; j < t; j++) if (received[j] < L[j].chunks.length || pending[j].size) return null;
  if (!chunks.length) return null;
  const c = received[t], waiting = [...pending[t]].sort((a, b) => a - b);
  const run = (from) => waiting.length === c - from && waiting.every((k, i) => k === from + i);
  let code;
  if (!waiting.length) code = chunks[c - 1].fidelityFull;
  else if (run(0)) code = chunks[c - 1].fidelityDc;
  else if (c === chunks.length && run(waiting[0])) code = chunks[waiting[0] - 1].fidelityUpgraded;
  else return null;
  return fidelityDb(code);
}

