"""Batched greedy and beam-search decoding for any autoregressive model.

A model plugs in through two callables, so the search never sees its internals:

    step(state, last_tokens: LongTensor[N]) -> (log_probs: FloatTensor[N, V], new_state)
    reorder(state, index: LongTensor[M]) -> state    # select/duplicate rows (beams)

`max_len` is an int or a LongTensor[B] (one limit per source row); returned
token lists exclude BOS and EOS.

Beam search follows fairseq (Ott et al. 2019): every step keeps the 2K best
extensions of the K live beams so that K live, non-EOS beams always remain; an
EOS candidate ranked in the top K closes a hypothesis; a row is done once it
holds K closed hypotheses or reaches its length limit (its live beams are then
closed too). Live beams are ranked by summed log-probability; closed ones by

    score = sum log p(y_t | y_<t, x) / len(y) ** length_penalty

where len(y) counts the generated tokens including EOS (simple length
normalisation as in fairseq and Hugging Face: 0 = raw log-probability, 1 =
mean per-token log-probability). Scores accumulate in float64 so that beam 1
ranks candidates exactly as greedy's argmax and returns exactly greedy's output.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch

Step = Callable[[Any, torch.Tensor], tuple[torch.Tensor, Any]]
Reorder = Callable[[Any, torch.Tensor], Any]


def find_device(state: Any) -> torch.device:
    """The device of the first tensor found in `state` (nested tuples/lists/dicts/dataclasses), else CPU."""
    if isinstance(state, torch.Tensor):
        return state.device
    if isinstance(state, dict):
        items = list(state.values())
    elif isinstance(state, (tuple, list)):
        items = list(state)
    elif dataclasses.is_dataclass(state) and not isinstance(state, type):
        items = [getattr(state, f.name) for f in dataclasses.fields(state)]
    else:
        items = []
    for item in items:
        dev = find_device(item)
        if dev.type != "cpu":
            return dev
    return torch.device("cpu")


def _limits(max_len: int | torch.Tensor, batch_size: int, device: torch.device) -> torch.Tensor:
    if isinstance(max_len, torch.Tensor):
        lim = max_len.to(device=device, dtype=torch.long).reshape(-1)
        if lim.numel() != batch_size:
            raise ValueError(f"max_len: one limit per row expected ({batch_size}); given {lim.numel()}")
        return lim.clamp(min=0)
    return torch.full((batch_size,), max(0, int(max_len)), dtype=torch.long, device=device)


def greedy_decode(
    step: Step,
    state: Any,
    batch_size: int,
    bos_id: int,
    eos_id: int,
    max_len: int | torch.Tensor,
    fixed_length: bool = False,
    *,
    device: torch.device | None = None,
) -> list[list[int]]:
    """Argmax decoding of all rows at once.

    fixed_length=True masks EOS so every row yields exactly its max_len tokens
    (perf cells need a fixed output length); otherwise a row stops at EOS.
    """
    device = device or find_device(state)
    limit = _limits(max_len, batch_size, device)
    n_steps = int(limit.max()) if batch_size else 0
    tokens = torch.full((batch_size,), bos_id, dtype=torch.long, device=device)
    finished = limit <= 0
    out = []
    for t in range(n_steps):
        log_probs, state = step(state, tokens)
        if fixed_length:
            log_probs = log_probs.clone()
            log_probs[:, eos_id] = float("-inf")
        tokens = torch.where(finished, eos_id, log_probs.argmax(-1))
        out.append(tokens)
        finished = finished | (tokens == eos_id) | (limit <= t + 1)
        # Checking costs a device sync, so only when rows can end early.
        if not fixed_length and bool(finished.all()):
            break
    return _trim(torch.stack(out, 1) if out else None, limit, eos_id, batch_size)


def _trim(seqs: torch.Tensor | None, limit: torch.Tensor, eos_id: int, batch_size: int) -> list[list[int]]:
    """Cuts each row at its first EOS and at its own length limit."""
    if seqs is None:
        return [[] for _ in range(batch_size)]
    result = []
    for row, lim in zip(seqs.tolist(), limit.tolist()):
        row = row[:lim]
        result.append(row[: row.index(eos_id)] if eos_id in row else row)
    return result


@dataclasses.dataclass
class _Beams:
    """Per-step beam bookkeeping: live beams as [B, K] tensors, closed ones as python lists."""

    scores: torch.Tensor  # [B, K] float64 summed log-probs of live beams
    seqs: torch.Tensor  # [B, K, t] tokens of live beams so far
    done: torch.Tensor  # [B] bool: row has its K closed hypotheses (or hit its limit)
    closed: list[list[tuple[float, list[int]]]]  # per row: (normalised score, tokens)


def beam_search(
    step: Step,
    reorder: Reorder,
    state: Any,
    batch_size: int,
    bos_id: int,
    eos_id: int,
    beam_size: int,
    max_len: int | torch.Tensor,
    length_penalty: float = 1.0,
    *,
    device: torch.device | None = None,
) -> list[list[int]]:
    """Beam search over all rows at once (rows x beams form one batch of B*K)."""
    if beam_size < 1:
        raise ValueError(f"beam_size: allowed >= 1; given {beam_size}")
    device = device or find_device(state)
    B, K = batch_size, beam_size
    limit = _limits(max_len, B, device)
    state = reorder(state, torch.arange(B, device=device).repeat_interleave(K))
    scores = torch.full((B, K), float("-inf"), dtype=torch.float64, device=device)
    scores[:, 0] = 0.0  # one live beam at first, so step 1 yields K distinct prefixes
    beams = _Beams(scores, torch.empty(B, K, 0, dtype=torch.long, device=device), limit <= 0, [[] for _ in range(B)])
    tokens = torch.full((B * K,), bos_id, dtype=torch.long, device=device)
    for t in range(int(limit.max()) if B else 0):
        if bool(beams.done.all()):
            break
        log_probs, state = step(state, tokens)
        origin, tokens = _advance(beams, log_probs.view(B, K, -1), eos_id, limit, t, length_penalty)
        flat = (origin + torch.arange(B, device=device).unsqueeze(1) * K).reshape(-1)
        state = reorder(state, flat)
    return [max(c, key=lambda h: h[0])[1] if c else [] for c in beams.closed]


def _advance(beams: _Beams, log_probs: torch.Tensor, eos_id: int, limit: torch.Tensor, t: int, alpha: float):
    """One search step in place: closes EOS hypotheses, keeps the K best live ones.

    Returns (origin beam per new beam [B, K], next input tokens [B*K]).
    """
    B, K, V = log_probs.shape
    # Per-beam top-2K, then global top-2K: K beams have at most K EOS candidates,
    # so at least K non-EOS candidates survive.
    n = min(2 * K, V)
    top_lp, top_tok = log_probs.topk(n, dim=-1)  # [B, K, n]
    cand = (beams.scores.unsqueeze(-1) + top_lp.double()).view(B, K * n)
    cand_scores, cand_idx = cand.topk(min(2 * K, K * n), dim=-1)  # sorted, best first
    cand_tok = top_tok.view(B, K * n).gather(1, cand_idx)
    cand_origin = torch.div(cand_idx, n, rounding_mode="floor")
    is_eos = cand_tok == eos_id
    _close_eos(beams, cand_scores[:, :K], cand_origin[:, :K], is_eos[:, :K], t, alpha)

    # The first K non-EOS candidates (in score order) become the live beams.
    rank = torch.arange(cand_tok.size(1), device=cand_tok.device)
    keep = (is_eos.long() * cand_tok.size(1) + rank).topk(K, dim=1, largest=False).indices
    origin = cand_origin.gather(1, keep)
    new_tok = cand_tok.gather(1, keep)
    beams.scores = cand_scores.gather(1, keep)
    history = beams.seqs.gather(1, origin.unsqueeze(-1).expand_as(beams.seqs))
    beams.seqs = torch.cat([history, new_tok.unsqueeze(-1)], -1)
    _close_at_limit(beams, limit, t, alpha)
    return origin, new_tok.reshape(-1)


def _close_eos(beams: _Beams, scores, origin, is_eos, t: int, alpha: float) -> None:
    """Adds EOS-ending candidates ranked in the top K to their row's closed list (up to K per row)."""
    ok = is_eos & torch.isfinite(scores) & ~beams.done.unsqueeze(1)
    if not bool(ok.any()):
        return
    K = scores.size(1)
    norm = (t + 1) ** alpha  # length includes the EOS token
    for b, k in ok.nonzero().tolist():  # row-major: best rank first within a row
        if len(beams.closed[b]) < K:
            tokens = beams.seqs[b, origin[b, k]].tolist()
            beams.closed[b].append((float(scores[b, k]) / norm, tokens))
    for b in set(ok.nonzero()[:, 0].tolist()):
        if len(beams.closed[b]) >= K:
            beams.done[b] = True


def _close_at_limit(beams: _Beams, limit: torch.Tensor, t: int, alpha: float) -> None:
    """Rows reaching their length limit close their live beams (no EOS) and finish."""
    hit = (limit <= t + 1) & ~beams.done
    if not bool(hit.any()):
        return
    norm = (t + 1) ** alpha
    for b in hit.nonzero()[:, 0].tolist():
        for k in range(beams.scores.size(1)):
            score = float(beams.scores[b, k])
            if score != float("-inf"):
                beams.closed[b].append((score / norm, beams.seqs[b, k].tolist()))
    beams.done |= hit
