"""Tokenizers: text to token ids and back, for word embeddings and language models (notes 003,
word embeddings, BERT and GPT).

Two tokenizers share one interface::

    ids = tok.encode(text)          # list[int]
    text = tok.decode(ids)          # str
    tok.vocab_size                  # ids are 0 .. vocab_size-1
    tok.token_to_id("[MASK]"), tok.id_to_token(7)
    tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id   # None if that token is absent
    tok.save("tok.json"); load_tokenizer("tok.json")              # JSON, written atomically

Special tokens come first in the vocabulary (with the defaults [PAD] = 0, [UNK] = 1, [CLS] = 2,
[SEP] = 3, [MASK] = 4); each can be renamed or left out (``mask_token=None``) and more can be added
(``additional_special_tokens``). A special token written literally in the text (``"[CLS] to be"``)
is encoded as that one token.

``WordTokenizer``: a regular expression splits the text into words (letters and inner
apostrophes, "o'er"), numbers and single punctuation marks; the vocabulary is the words seen at
least ``min_freq`` times, most frequent first, at most ``max_size`` ids in all; an unseen word
becomes [UNK]. Decoding joins words with spaces, so it gives the text back up to spacing (and
case, with ``lower=True``): ``encode(decode(ids)) == ids``.

``BPETokenizer``: byte-level byte-pair encoding. R. Sennrich, B. Haddow, A. Birch, "Neural
Machine Translation of Rare Words with Subword Units", ACL 2016: start from single symbols, and
repeatedly merge the most frequent adjacent pair (a, b) into a new symbol ab, counting pairs only
inside pre-tokenized chunks (words with their leading space), until the vocabulary has the
requested size. The symbols are the 256 bytes of UTF-8 (A. Radford et al., "Language Models are
Unsupervised Multitask Learners", 2019), so every text is encodable and ``decode(encode(text))
== text`` exactly. Encoding a chunk applies the learned merges in the order they were learned
(lowest rank first). Training keeps pair counts up to date incrementally: a merge touches only
the chunks that contain the merged pair.
"""
from __future__ import annotations

import heapq
import json
import os
import re
from collections import Counter, defaultdict

__all__ = ["WordTokenizer", "BPETokenizer", "load_tokenizer"]

SPECIAL_ROLES = ("pad", "unk", "cls", "sep", "mask")


# ---------------------------------------------------------------- vocabulary, specials, JSON

class _Tokenizer:
    """The vocabulary (``self._itos`` list, ``self._stoi`` dict) and the special tokens."""

    kind = ""

    def __init__(self, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                 sep_token="[SEP]", mask_token="[MASK]", additional_special_tokens=()):
        roles = dict(zip(SPECIAL_ROLES, (pad_token, unk_token, cls_token, sep_token, mask_token)))
        self.special_tokens = [t for t in roles.values() if t is not None]
        self.special_tokens += [t for t in additional_special_tokens
                                if t not in self.special_tokens]
        for t in self.special_tokens:
            if not isinstance(t, str) or not t:
                raise ValueError(f"{type(self).__name__}: special tokens must be non-empty "
                                 f"strings, got {t!r}")
        self._roles = roles
        self._special_re = (re.compile("(" + "|".join(
            re.escape(t) for t in sorted(self.special_tokens, key=len, reverse=True)) + ")")
            if self.special_tokens else None)

    def _set_vocab(self, itos):
        self._itos = list(itos)
        self._stoi = {t: i for i, t in enumerate(self._itos)}
        if len(self._stoi) != len(self._itos):
            dup = [t for t, n in Counter(self._itos).items() if n > 1][:5]
            raise ValueError(f"{type(self).__name__}: duplicate tokens in the vocabulary: {dup}")
        for role, token in self._roles.items():
            setattr(self, f"{role}_id", None if token is None else self._stoi[token])
        self.special_ids = frozenset(self._stoi[t] for t in self.special_tokens)

    @property
    def vocab_size(self) -> int:
        return len(self._itos)

    def __len__(self):
        return len(self._itos)

    def token_to_id(self, token: str) -> int:
        """The id of ``token``; a KeyError naming it if it is not in the vocabulary."""
        try:
            return self._stoi[token]
        except KeyError:
            raise KeyError(f"{type(self).__name__}: token {token!r} is not in the vocabulary "
                           f"of {self.vocab_size}") from None

    def id_to_token(self, index: int) -> str:
        if not 0 <= index < self.vocab_size:
            raise IndexError(f"{type(self).__name__}: id {index} is out of range "
                             f"[0, {self.vocab_size})")
        return self._itos[index]

    def _split_specials(self, text):
        """(piece, is_special) for the text between and at literal special tokens."""
        if self._special_re is None:
            return [(text, False)] if text else []
        parts = self._special_re.split(text)
        return [(p, i % 2 == 1) for i, p in enumerate(parts) if p]

    def encode(self, text: str) -> list[int]:
        """The token ids of ``text``."""
        if not isinstance(text, str):
            raise TypeError(f"{type(self).__name__}.encode: expected a str, got "
                            f"{type(text).__name__}")
        ids = []
        for piece, special in self._split_specials(text):
            if special:
                ids.append(self._stoi[piece])
            else:
                self._encode_piece(piece, ids)
        return ids

    def _check_ids(self, ids):
        ids = [int(i) for i in (ids.tolist() if hasattr(ids, "tolist") else ids)]
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise IndexError(f"{type(self).__name__}.decode: ids {bad[:5]} are out of range "
                             f"[0, {self.vocab_size})")
        return ids

    # JSON: the state as a dict, written to a temporary file and renamed into place.
    def _state(self) -> dict:
        return {"type": self.kind, "version": 1, "special_roles": self._roles,
                "additional_special_tokens": self.special_tokens[
                    sum(t is not None for t in self._roles.values()):]}

    def save(self, path):
        """Write the tokenizer as JSON (atomically: a temporary file renamed into place)."""
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self._state(), f, ensure_ascii=False)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path):
        """The tokenizer saved at ``path`` (JSON written by ``save``)."""
        state = _read_json(path)
        if state.get("type") != cls.kind:
            raise ValueError(f"{cls.__name__}.load: {path} holds a {state.get('type')!r} "
                             f"tokenizer, not {cls.kind!r}")
        try:
            roles = {f"{r}_token": state["special_roles"][r] for r in SPECIAL_ROLES}
            return cls._from_state(state, roles, state["additional_special_tokens"])
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{cls.__name__}.load: {path} is not a valid tokenizer file "
                             f"({type(e).__name__}: {e})") from None


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        try:
            state = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"tokenizer file {path} is not valid JSON: {e}") from None
    if not isinstance(state, dict) or "type" not in state:
        raise ValueError(f"tokenizer file {path} has no 'type' field: not a nablagrad tokenizer")
    return state


def load_tokenizer(path):
    """A ``WordTokenizer`` or ``BPETokenizer`` from a JSON file, by its ``type`` field."""
    kinds = {c.kind: c for c in (WordTokenizer, BPETokenizer)}
    kind = _read_json(path)["type"]
    if kind not in kinds:
        raise ValueError(f"tokenizer file {path}: unknown type {kind!r}; expected one of "
                         f"{sorted(kinds)}")
    return kinds[kind].load(path)


# ---------------------------------------------------------------- word-level

WORD_PATTERN = r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+|\S"
_NO_SPACE_BEFORE = set(".,;:!?)]}'")


class WordTokenizer(_Tokenizer):
    """Words, numbers and punctuation marks as tokens; see the module docstring.

    ``WordTokenizer.train(text, min_freq=1, max_size=None, lower=True)`` builds the vocabulary;
    ``max_size`` counts all ids, special tokens included."""

    kind = "word"

    def __init__(self, vocab, lower=True, pattern=WORD_PATTERN, **specials):
        super().__init__(**specials)
        self.lower, self.pattern = lower, pattern
        self._word_re = re.compile(pattern)
        words = [w for w in vocab if w not in self.special_tokens]
        self._set_vocab(self.special_tokens + words)

    @classmethod
    def train(cls, text, min_freq=1, max_size=None, lower=True, pattern=WORD_PATTERN,
              **specials):
        """Vocabulary of ``text``: special tokens, then words seen ``min_freq`` times or more,
        most frequent first (ties alphabetically), cut at ``max_size`` ids."""
        if min_freq < 1:
            raise ValueError(f"WordTokenizer.train: min_freq must be >= 1, got {min_freq}")
        tok = cls([], lower=lower, pattern=pattern, **specials)
        if max_size is not None and max_size < len(tok.special_tokens):
            raise ValueError(f"WordTokenizer.train: max_size ({max_size}) is smaller than the "
                             f"{len(tok.special_tokens)} special tokens")
        counts = Counter(w for piece, special in tok._split_specials(text) if not special
                         for w in tok.tokenize(piece))
        words = sorted((w for w, n in counts.items() if n >= min_freq and w not in tok._stoi),
                       key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[:max_size - len(tok.special_tokens)]
        tok._set_vocab(tok.special_tokens + words)
        return tok

    def tokenize(self, text: str) -> list[str]:
        """The words, numbers and punctuation marks of ``text`` (lower-cased if ``lower``)."""
        return self._word_re.findall(text.lower() if self.lower else text)

    def _encode_piece(self, piece, ids):
        stoi, unk = self._stoi, self.unk_id
        for w in self.tokenize(piece):
            i = stoi.get(w, unk)
            if i is None:
                raise KeyError(f"WordTokenizer.encode: word {w!r} is not in the vocabulary and "
                               f"there is no unknown token")
            ids.append(i)

    def decode(self, ids, skip_special_tokens=False) -> str:
        """Tokens joined by spaces, without a space before closing punctuation."""
        out = []
        for i in self._check_ids(ids):
            if skip_special_tokens and i in self.special_ids:
                continue
            t = self._itos[i]
            out.append(t if not out or t in _NO_SPACE_BEFORE else " " + t)
        return "".join(out)

    def _state(self):
        return {**super()._state(), "lower": self.lower, "pattern": self.pattern,
                "vocab": self._itos}

    @classmethod
    def _from_state(cls, state, roles, additional):
        return cls(state["vocab"], lower=bool(state["lower"]), pattern=state["pattern"],
                   additional_special_tokens=additional, **roles)


# ---------------------------------------------------------------- byte-level BPE

# Chunks inside which pairs are merged: English contractions, a word or a number or a run of
# punctuation with its leading space, whitespace (a space before a word stays with the word), and
# any other single character, so that the chunks always cover the whole text.
CHUNK_PATTERN = r"'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+|\S"


def _byte_symbols():
    """A printable character for each byte 0..255, so that byte tokens read as text: printable
    Latin-1 bytes stand for themselves, the others (space, controls) for chars from U+0100 on
    (a space reads as 'Ġ', a newline as 'Ċ')."""
    keep = [b for b in range(256) if 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255]
    symbols, extra = {}, 0
    for b in range(256):
        if b in keep:
            symbols[b] = chr(b)
        else:
            symbols[b] = chr(256 + extra)
            extra += 1
    return [symbols[b] for b in range(256)]


BYTE_SYMBOLS = _byte_symbols()


class BPETokenizer(_Tokenizer):
    """Byte-level BPE; see the module docstring. ``BPETokenizer.train(text, vocab_size)`` learns
    ``vocab_size - 256 - len(special tokens)`` merges (fewer if no pair occurs twice).

    Ids: special tokens, then the 256 bytes, then one id per merge in the order learned."""

    kind = "bpe"

    def __init__(self, merges=(), pattern=CHUNK_PATTERN, **specials):
        super().__init__(**specials)
        self.pattern = pattern
        self._chunk_re = re.compile(pattern)
        self._base = len(self.special_tokens)
        self.merges = [(int(a), int(b)) for a, b in merges]
        self._bytes = [t.encode("utf-8") for t in self.special_tokens]
        self._bytes += [bytes([b]) for b in range(256)]
        for n, (a, b) in enumerate(self.merges):
            new = self._base + 256 + n
            if not (self._base <= a < new and self._base <= b < new):
                raise ValueError(f"BPETokenizer: merge {n} ({a}, {b}) refers to ids outside "
                                 f"[{self._base}, {new})")
            self._bytes.append(self._bytes[a] + self._bytes[b])
        self._rank = {pair: n for n, pair in enumerate(self.merges)}
        self._cache = {}
        self._set_vocab(self.special_tokens + [
            "".join(BYTE_SYMBOLS[c] for c in t) for t in self._bytes[self._base:]])

    @classmethod
    def train(cls, text, vocab_size, min_frequency=2, pattern=CHUNK_PATTERN, **specials):
        """Learn merges on ``text`` until ``vocab_size`` ids (or until no pair occurs
        ``min_frequency`` times)."""
        tok = cls(pattern=pattern, **specials)
        if vocab_size < tok.vocab_size:
            raise ValueError(f"BPETokenizer.train: vocab_size ({vocab_size}) must be at least "
                             f"256 bytes + {tok._base} special tokens = {tok.vocab_size}")
        chunks = Counter(c for piece, special in tok._split_specials(text) if not special
                         for c in tok._chunk_re.findall(piece))
        words = [[tok._base + b for b in c.encode("utf-8")] for c in chunks]
        freqs = list(chunks.values())
        merges = _learn_merges(words, freqs, vocab_size - tok.vocab_size, min_frequency,
                               tok._base + 256)
        return cls(merges, pattern=pattern, **specials)

    def _encode_chunk(self, chunk):
        symbols = [self._base + b for b in chunk.encode("utf-8")]
        rank = self._rank
        while len(symbols) > 1:
            best = min(zip(symbols, symbols[1:]), key=lambda p: rank.get(p, 1 << 62))
            if best not in rank:
                break
            new, out, i = self._base + 256 + rank[best], [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(new)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            symbols = out
        return symbols

    def _encode_piece(self, piece, ids):
        cache = self._cache
        for chunk in self._chunk_re.findall(piece):
            got = cache.get(chunk)
            if got is None:
                got = cache[chunk] = self._encode_chunk(chunk)
            ids.extend(got)

    def decode(self, ids, skip_special_tokens=False) -> str:
        """The text of ``ids``: their bytes joined and read as UTF-8 (an id sequence that splits
        a character, which ``encode`` never produces, decodes with U+FFFD in its place)."""
        pieces = self._bytes
        data = b"".join(pieces[i] for i in self._check_ids(ids)
                        if not (skip_special_tokens and i in self.special_ids))
        return data.decode("utf-8", errors="replace")

    def _state(self):
        return {**super()._state(), "pattern": self.pattern, "merges": self.merges}

    @classmethod
    def _from_state(cls, state, roles, additional):
        return cls(state["merges"], pattern=state["pattern"],
                   additional_special_tokens=additional, **roles)


def _learn_merges(words, freqs, num_merges, min_frequency, first_id):
    """Merges of the most frequent adjacent pair, ``num_merges`` times at most.

    ``pairs[p]`` is the count of pair p over all chunks (weighted by chunk frequency) and
    ``where[p]`` the chunks that contain it (a superset: entries go stale when a chunk changes,
    and are checked). A max-heap of (-count, pair) finds the best pair; entries whose count has
    changed since they were pushed are skipped. Ties go to the smallest pair of ids."""
    pairs, where = defaultdict(int), defaultdict(set)
    for w, (word, f) in enumerate(zip(words, freqs)):
        for p in zip(word, word[1:]):
            pairs[p] += f
            where[p].add(w)
    heap = [(-n, p) for p, n in pairs.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < num_merges and heap:
        neg, pair = heapq.heappop(heap)
        if pairs.get(pair, 0) != -neg:
            continue
        if -neg < min_frequency:
            break
        new = first_id + len(merges)
        merges.append(pair)
        changed = set()
        for w in where.pop(pair):
            word, f = words[w], freqs[w]
            merged, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == pair[0] and word[i + 1] == pair[1]:
                    merged.append(new)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            if len(merged) == len(word):
                continue
            for p in zip(word, word[1:]):
                pairs[p] -= f
                changed.add(p)
            for p in zip(merged, merged[1:]):
                pairs[p] += f
                where[p].add(w)
                changed.add(p)
            words[w] = merged
        pairs.pop(pair, None)
        changed.discard(pair)
        for p in changed:
            if pairs[p] > 0:
                heapq.heappush(heap, (-pairs[p], p))
            else:
                del pairs[p]
    return merges
