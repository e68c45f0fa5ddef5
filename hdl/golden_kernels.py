"""Compiled (numba) kernels of the golden model: the fast path of :mod:`stochflow.hdl.golden`.

The arithmetic is the numpy reference path's (``docs/arithmetic.md``); only the order
of the additions differs, and integer addition does not care. Speed comes from
input-spike sparsity: a layer adds the signed weight-bit column of an input only at
the periods that input spiked, comparing the weight magnitudes with the period's
random number on the fly, so no ``L × n_in × n_out`` tensor is built and the working
set stays in L1/L2.

Representation shared with the caller (:class:`stochflow.hdl.golden._FastLayers`):

- Comparator numbers and magnitudes are stored *offset*: ``value - 2^(bits-1)`` in a
  signed ``int8`` (precision ≤ 8) or ``int16`` lane. The offset keeps ``u < m`` intact
  and lets the compiler compare 32 lanes per instruction.
- ``weight_u``: ``(L, n_in + 1)`` weight-source numbers, bias column last.
- ``magnitude`` / ``sign``: ``(n_in + 1, n_lanes)`` offset magnitudes ``m_ij`` and signs
  ``±1``, so a column adds ``[u < m] · sign`` (one compare and one select per lane).
  ``n_lanes`` is ``n_out`` rounded up to 32 (padding has magnitude 0, so never adds):
  the column loop then has no scalar remainder, which matters for narrow layers.
- Partial sums of at most ``chunk`` columns go into a lane-typed accumulator (they
  cannot overflow it) and are flushed into the ``int32`` total ``c_i(t)``.
- Spikes: ``(batch, L, n_pad)`` uint8, ``n_pad`` a multiple of 8 with zero padding, so
  the packed kernel turns eight inputs into eight bits with one 64-bit multiply.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic


@njit(cache=True)
def _flush(partial, total):  # pragma: no cover
    periods, n_out = total.shape
    for t in range(periods):
        for i in range(n_out):
            total[t, i] += partial[t, i]
            partial[t, i] = 0


@njit(cache=True)
def _integrate(acc, membrane, v0, threshold, leak, low, high, spikes, counts, record):  # pragma: no cover
    """Integrate-and-fire over all periods of one inference (steps 1–4 of the contract).

    ``acc[t, i]`` is ``c_i(t)``; writes ``counts[i]`` and, when ``record``, ``spikes[t, i]``.
    ``membrane`` is scratch of a dtype wide enough for ``V + c``.
    """
    periods = acc.shape[0]
    n_out = counts.shape[0]
    for i in range(n_out):
        membrane[i] = v0
        counts[i] = 0
    for t in range(periods):
        if leak > 0:
            for i in range(n_out):
                a = membrane[i] + acc[t, i]
                a = a - min(leak, max(a, 0)) + min(leak, max(-a, 0))
                a = min(max(a, low), high)
                fire = a >= threshold
                membrane[i] = a - threshold * fire
                counts[i] += fire
                if record:
                    spikes[t, i] = fire
        else:
            for i in range(n_out):
                a = min(max(membrane[i] + acc[t, i], low), high)
                fire = a >= threshold
                membrane[i] = a - threshold * fire
                counts[i] += fire
                if record:
                    spikes[t, i] = fire


@njit(cache=True)
def encoded_layer(
    q,
    sorted_v,
    order,
    weight_u_in_order,
    weight_u,
    magnitude,
    sign,
    chunk,
    partial,
    total,
    membrane,
    v0,
    threshold,
    leak,
    low,
    high,
    spikes,
    counts,
    input_counts,
    record,
):  # pragma: no cover
    """A layer whose inputs are encoded from integers ``q`` (layer 1, or regenerate).

    Input ``j`` is 1 exactly at the periods ``t`` with ``v_j(t) < q_j``. With the periods
    sorted by ``v_j`` (``order[j]``, values ``sorted_v[j]``, stable) these are the first
    ``K`` entries, ``K`` found by binary search: one column addition per input spike.
    ``weight_u_in_order[j, r] = weight_u[order[j, r], j]`` keeps the comparator numbers
    of those periods in one contiguous row.
    """
    batch, n_in = q.shape
    periods = weight_u.shape[0]
    n_out = magnitude.shape[1]
    for b in range(batch):
        total[:, :] = 0
        used = 0
        for j in range(n_in):
            qj = q[b, j]
            lo, hi = 0, periods
            while lo < hi:
                mid = (lo + hi) >> 1
                if sorted_v[j, mid] < qj:
                    lo = mid + 1
                else:
                    hi = mid
            input_counts[b, j] = lo
            if lo == 0:
                continue
            if used == chunk:
                _flush(partial, total)
                used = 0
            used += 1
            for r in range(lo):
                t = order[j, r]
                u = weight_u_in_order[j, r]
                for i in range(n_out):
                    partial[t, i] += (u < magnitude[j, i]) * sign[j, i]
        if used == chunk:
            _flush(partial, total)
        for t in range(periods):
            u = weight_u[t, n_in]
            for i in range(n_out):
                partial[t, i] += (u < magnitude[n_in, i]) * sign[n_in, i]
        _flush(partial, total)
        _integrate(total, membrane, v0, threshold, leak, low, high, spikes[b], counts[b], record)


@njit(cache=True)
def stream_layer_sparse(
    in_spikes,
    n_in,
    weight_u,
    magnitude,
    sign,
    chunk,
    partial,
    total,
    membrane,
    v0,
    threshold,
    leak,
    low,
    high,
    spikes,
    counts,
    record,
):  # pragma: no cover
    """A layer fed by the previous layer's spikes, adding one column per input spike.

    Each period's active inputs are first listed without branches (a spike only bumps
    the list's length), so irregular spike trains cost no branch mispredictions.
    """
    batch, periods, _ = in_spikes.shape
    n_lanes = magnitude.shape[1]
    active = np.empty(n_in, dtype=np.int32)
    for b in range(batch):
        total[:, :] = 0
        for start in range(0, n_in, chunk):
            stop = min(start + chunk, n_in)
            for t in range(periods):
                n_active = 0
                for j in range(start, stop):
                    active[n_active] = j
                    n_active += in_spikes[b, t, j]
                for e in range(n_active):
                    j = active[e]
                    u = weight_u[t, j]
                    for i in range(n_lanes):
                        partial[t, i] += (u < magnitude[j, i]) * sign[j, i]
            _flush(partial, total)
        for t in range(periods):
            u = weight_u[t, n_in]
            for i in range(n_lanes):
                partial[t, i] += (u < magnitude[n_in, i]) * sign[n_in, i]
        _flush(partial, total)
        _integrate(total, membrane, v0, threshold, leak, low, high, spikes[b], counts[b], record)


@intrinsic
def _popcount(typingctx, value):  # pragma: no cover
    """Population count of an unsigned 64-bit word (LLVM ``ctpop``)."""
    if not isinstance(value, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return value(value), codegen


_GATHER_BYTES = np.uint64(0x0102040810204080)  # bit k of (w * this) >> 56 = byte k of w


@njit(cache=True)
def stream_layer_packed(
    in_words,
    positive_bits,
    negative_bits,
    bias,
    total,
    membrane,
    v0,
    threshold,
    leak,
    low,
    high,
    spikes,
    counts,
    record,
):  # pragma: no cover
    """A narrow layer fed by spikes: ``c_i(t) = popcount(x(t) & P) - popcount(x(t) & N)``.

    ``positive_bits`` / ``negative_bits``: ``(L, n_out, words)`` packed weight bits of the
    positive / negative weights (bit ``j % 64`` of word ``j // 64`` is column ``j``);
    ``bias``: ``(L, n_out)`` the bias column's signed bit. ``in_words``: the spikes as
    uint64 words of eight 0/1 bytes, packed here to one bit per input.
    """
    batch, periods, byte_words = in_words.shape
    n_out = counts.shape[1]
    words = positive_bits.shape[2]
    packed = np.zeros(words, dtype=np.uint64)
    for b in range(batch):
        for t in range(periods):
            for w in range(words):
                packed[w] = 0
            for k in range(byte_words):
                gathered = (in_words[b, t, k] * _GATHER_BYTES) >> np.uint64(56)
                packed[k >> 3] |= gathered << np.uint64(8 * (k & 7))
            for i in range(n_out):
                c = np.int64(bias[t, i])
                for w in range(words):
                    x = packed[w]
                    c += np.int64(_popcount(x & positive_bits[t, i, w]))
                    c -= np.int64(_popcount(x & negative_bits[t, i, w]))
                total[t, i] = c
        _integrate(total, membrane, v0, threshold, leak, low, high, spikes[b], counts[b], record)
