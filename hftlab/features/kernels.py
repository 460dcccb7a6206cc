"""numba kernels behind the batch features. Imported lazily (first batch call), never by `import hftlab`.

Each indicator kernel is the streaming class of `hftlab.features.indicators` run over an array:
the same state machine, the same floating-point operations in the same order (no fastmath, so no
reassociation or fused multiply-add), hence equal output. Kernels write into caller-provided
arrays so the parallel panel kernel can run them on slices of one buffer.
`cache=True` keeps the compiled code on disk beside this file (or in $NUMBA_CACHE_DIR).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

NAN = np.nan


@njit(cache=True, nogil=True)
def rsi_into(x, period, out):
    pm1 = float(period - 1)
    inv = 1.0 / period
    n = 0
    prev = gain = loss = 0.0
    for i in range(x.size):
        v = x[i]
        if v - v != 0.0:
            n = 0
            gain = loss = 0.0
            out[i] = NAN
            continue
        if n > period:
            d = v - prev
            prev = v
            # branch-free form of `if d < 0: loss -= d else: gain += d` (adding 0.0 changes nothing)
            gain = (gain * pm1 + (d if d >= 0 else 0.0)) * inv
            loss = (loss * pm1 - (d if d < 0 else 0.0)) * inv
            s = gain + loss
            out[i] = 100.0 * (gain / s) if s != 0.0 else 50.0
            continue
        if n == 0:
            n = 1
            prev = v
            out[i] = NAN
            continue
        d = v - prev
        prev = v
        if d < 0:
            loss -= d
        else:
            gain += d
        n += 1
        if n <= period:
            out[i] = NAN
            continue
        gain = gain / period
        loss = loss / period
        s = gain + loss
        out[i] = 100.0 * (gain / s) if s != 0.0 else 50.0


@njit(cache=True, nogil=True)
def macd_into(x, fast, slow, signal, out_macd, out_signal, out_hist):
    kf = 2.0 / (fast + 1)
    ks = 2.0 / (slow + 1)
    kg = 2.0 / (signal + 1)
    fast_from = slow - fast
    ready = slow + signal - 2
    n = 0
    fsum = ssum = gsum = 0.0
    fema = sema = sig = 0.0
    for j in range(x.size):
        v = x[j]
        if v - v != 0.0:
            n = 0
            fsum = ssum = gsum = 0.0
            fema = sema = sig = 0.0
            out_macd[j] = out_signal[j] = out_hist[j] = NAN
            continue
        i = n
        n += 1
        if i > ready:
            fema = (v - fema) * kf + fema
            sema = (v - sema) * ks + sema
            m = fema - sema
            sig = (m - sig) * kg + sig
            out_macd[j] = m
            out_signal[j] = sig
            out_hist[j] = m - sig
            continue
        if i < slow - 1:
            ssum += v
            if i >= fast_from:
                fsum += v
            out_macd[j] = out_signal[j] = out_hist[j] = NAN
            continue
        if i == slow - 1:
            ssum += v
            fsum += v
            fema = fsum / fast
            sema = ssum / slow
        else:
            fema = (v - fema) * kf + fema
            sema = (v - sema) * ks + sema
        m = fema - sema
        gsum += m
        if i < ready:
            out_macd[j] = out_signal[j] = out_hist[j] = NAN
            continue
        sig = gsum / signal
        out_macd[j] = m
        out_signal[j] = sig
        out_hist[j] = m - sig


@njit(cache=True, nogil=True)
def bollinger_into(x, period, nbdev, out_upper, out_middle, out_lower):
    n = 0  # finite values since the last reset
    inv = 1.0 / period
    due = 0  # values until the next exact resync
    run = 0  # equal values in a row, ending with x[i]
    prev = pivot = s1 = s2 = 0.0
    for i in range(x.size):
        v = x[i]
        if v - v != 0.0:
            n = run = due = 0
            prev = pivot = s1 = s2 = 0.0
            out_upper[i] = out_middle[i] = out_lower[i] = NAN
            continue
        if v == prev and n:
            run += 1
        else:
            run = 1
        prev = v
        n += 1
        if n < period:
            out_upper[i] = out_middle[i] = out_lower[i] = NAN
            continue
        due -= 1
        if n == period or due == 0:
            due = period
            # exact sums around a new pivot: what the streaming ring buffer does when it wraps
            s1 = s2 = 0.0
            for k in range(i - period + 1, i + 1):
                y = x[k] - v
                s1 += y
                s2 += y * y
            pivot = v
        else:
            yn = v - pivot
            yo = x[i - period] - pivot
            s1 += yn - yo
            s2 += yn * yn - yo * yo
        if run >= period:
            out_upper[i] = out_middle[i] = out_lower[i] = v
            continue
        m = s1 * inv
        var = s2 * inv - m * m
        mean = pivot + m
        sd = math.sqrt(var) * nbdev if var > 0.0 else 0.0
        out_upper[i] = mean + sd
        out_middle[i] = mean
        out_lower[i] = mean - sd


@njit(cache=True, nogil=True)
def window_sum_into(x, window, out):
    """out[i] = x[i-window+1] + ... + x[i], added left to right (as the streaming deque sums);
    NaN before a full window and wherever the window holds a NaN."""
    for i in range(min(window - 1, x.size)):
        out[i] = NAN
    for i in range(window - 1, x.size):
        s = 0.0
        for k in range(i - window + 1, i + 1):
            s += x[k]
        out[i] = s


@njit(cache=True, nogil=True)
def triple_barrier_into(close, horizon, upper, lower, dead_zone, out):
    """+1 if close/close[t] - 1 reaches `upper` first within `horizon` bars, -1 if it reaches
    -`lower` first, else the dead-zone sign of the return at the horizon. NaN unless every close
    from t to t + horizon is present, touched barrier or not, so that which bars get a label
    never depends on the path's outcome."""
    n = close.size
    for t in range(n):
        out[t] = NAN
        if t + horizon >= n:
            continue
        whole = True
        for j in range(t, t + horizon + 1):
            if close[j] - close[j] != 0.0:
                whole = False
                break
        if not whole:
            continue
        c0 = close[t]
        for j in range(1, horizon + 1):
            r = close[t + j] / c0 - 1.0
            if r >= upper:
                out[t] = 1.0
                break
            if r <= -lower:
                out[t] = -1.0
                break
            if j == horizon:
                out[t] = 1.0 if r > dead_zone else (-1.0 if r < -dead_zone else 0.0)


@njit(cache=True, parallel=True)
def panel_into(x, offsets, rsi_period, fast, slow, signal, bb_period, nbdev, out):
    """Every indicator for each series x[offsets[s]:offsets[s+1]], series spread over threads.
    out rows: rsi, macd, macd_signal, macd_hist, bb_upper, bb_middle, bb_lower."""
    for s in prange(offsets.size - 1):
        a = offsets[s]
        b = offsets[s + 1]
        xs = x[a:b]
        rsi_into(xs, rsi_period, out[0, a:b])
        macd_into(xs, fast, slow, signal, out[1, a:b], out[2, a:b], out[3, a:b])
        bollinger_into(xs, bb_period, nbdev, out[4, a:b], out[5, a:b], out[6, a:b])


def parallel_chunks(size: int):
    """Context manager: hand the panel's series to threads `size` at a time, as each one frees up."""
    return numba.parallel_chunksize(size)
