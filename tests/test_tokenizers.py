"""Word-level and byte-level BPE tokenizers: vocabularies, round trips, merges, JSON files."""
import functools
import json
import os

import pytest
from hypothesis import given, settings, strategies as st

from nablagrad.data.tokenizers import BPETokenizer, WordTokenizer, load_tokenizer
from nablagrad.data.datasets.tiny_shakespeare import split_text, tiny_shakespeare_text

SAMPLE = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
          "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\n"
          "Resolved. resolved. O'er the hills, 'tis 12 o'clock -- café naïve!\n")


@functools.lru_cache(maxsize=None)
def _shakespeare(root):
    train, val = split_text(tiny_shakespeare_text(root))
    return train, val, BPETokenizer.train(train[:200_000], 600)


@pytest.fixture
def shakespeare(shared_data):
    return _shakespeare(shared_data)[:2]


@pytest.fixture
def bpe(shared_data):
    return _shakespeare(shared_data)[2]


@pytest.fixture(scope="module")
def small_bpe():
    return BPETokenizer.train(SAMPLE * 20, 320)


# ---------------------------------------------------------------- WordTokenizer

def test_word_vocabulary_specials_frequency_order_and_limits():
    tok = WordTokenizer.train("b a b c b a d", min_freq=1)
    assert [tok.id_to_token(i) for i in range(tok.vocab_size)] == \
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "b", "a", "c", "d"]
    assert (tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id) == (0, 1, 2, 3, 4)
    assert tok.token_to_id("a") == 6 and len(tok) == tok.vocab_size == 9
    assert WordTokenizer.train("b a b c b a d", min_freq=2).vocab_size == 7
    assert WordTokenizer.train("b a b c b a d", max_size=6).id_to_token(5) == "b"
    small = WordTokenizer.train("x y", pad_token=None, cls_token="<s>", sep_token=None,
                                mask_token=None, additional_special_tokens=["<eos>"])
    assert small.special_tokens == ["[UNK]", "<s>", "<eos>"]
    assert (small.pad_id, small.unk_id, small.cls_id, small.mask_id) == (None, 0, 1, None)


def test_word_tokenize_lower_and_punctuation():
    tok = WordTokenizer.train(SAMPLE)
    assert tok.tokenize("O'er the Hills, 'tis 12!") == ["o'er", "the", "hills", ",", "'", "tis",
                                                        "12", "!"]
    cased = WordTokenizer.train(SAMPLE, lower=False)
    assert cased.tokenize("O'er") == ["O'er"] and "First" in cased._stoi
    assert "first" in tok._stoi and "First" not in tok._stoi


def test_word_round_trip_and_unknown_words(shakespeare):
    train, val = shakespeare
    tok = WordTokenizer.train(train, min_freq=2)
    ids = tok.encode(val[:20_000])
    assert tok.encode(tok.decode(ids)) == ids
    assert tok.decode(tok.encode("To be, or not to be: that is the question.")) == \
        "to be, or not to be: that is the question."
    unseen = tok.encode("the zyzzyvaquux king")
    assert unseen == [tok.token_to_id("the"), tok.unk_id, tok.token_to_id("king")]
    assert tok.decode(unseen) == "the [UNK] king"
    assert tok.unk_id in ids  # the held-out text has words the training text lacks


def test_word_special_tokens_in_text_and_skipping():
    tok = WordTokenizer.train(SAMPLE)
    ids = tok.encode("[CLS] speak [MASK] [SEP]")
    assert ids == [tok.cls_id, tok.token_to_id("speak"), tok.mask_id, tok.sep_id]
    assert tok.decode(ids, skip_special_tokens=True) == "speak"
    with pytest.raises(KeyError, match="not in the vocabulary"):
        WordTokenizer.train("a b", unk_token=None).encode("a c")


def test_word_errors():
    tok = WordTokenizer.train("a b")
    with pytest.raises(ValueError, match="min_freq"):
        WordTokenizer.train("a", min_freq=0)
    with pytest.raises(ValueError, match="max_size"):
        WordTokenizer.train("a", max_size=2)
    with pytest.raises(IndexError, match=r"ids \[99\] are out of range"):
        tok.decode([0, 99])
    with pytest.raises(KeyError, match="'zz' is not in the vocabulary"):
        tok.token_to_id("zz")
    with pytest.raises(TypeError, match="expected a str"):
        tok.encode(["a"])


# ---------------------------------------------------------------- BPE

def test_bpe_round_trip_and_compression_on_shakespeare(shakespeare, bpe):
    val = shakespeare[1][:30_000]
    ids = bpe.encode(val)
    assert bpe.decode(ids) == val
    assert bpe.vocab_size == 600 and len(bpe.merges) == 600 - 256 - 5
    assert max(ids) < bpe.vocab_size
    assert len(ids) < 0.6 * len(val.encode("utf-8"))  # merges cut the token count (0.52)
    fewer = BPETokenizer.train(shakespeare[0][:200_000], 300)
    assert len(ids) < len(fewer.encode(val)) < len(val.encode("utf-8"))


def test_bpe_learns_the_most_frequent_pair_first():
    tok = BPETokenizer.train("aaab " * 10 + "cd " * 3, 256 + 5 + 2)
    base = tok._base
    a, b = base + ord("a"), base + ord("b")
    assert tok.merges[0] == (a, a)                 # "aa" occurs 10 times per "aaab"
    assert tok.id_to_token(tok.encode("aa")[0]) == "aa"
    assert tok.merges[1] == (a, b)                 # then "aa a" and "a b" tie at 10: smaller ids
    assert tok.encode("aaab") == [base + 256, base + 257]


def test_bpe_merge_counts_match_a_recount():
    text = "low lower lowest newer newest wider widest " * 5
    tok = BPETokenizer.train(text, 256 + 5 + 12)
    # re-derive greedily: the most frequent pair of the current segmentation, ties smallest ids
    chunks = tok._chunk_re.findall(text)
    words = [[tok._base + b for b in c.encode()] for c in chunks]
    for n, merge in enumerate(tok.merges):
        counts = {}
        for w in words:
            for p in zip(w, w[1:]):
                counts[p] = counts.get(p, 0) + 1
        best = max(counts.values())
        assert merge == min(p for p, c in counts.items() if c == best), n
        new = tok._base + 256 + n
        for k, w in enumerate(words):
            out, i = [], 0
            while i < len(w):
                if w[i:i + 2] == list(merge):
                    out.append(new)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[k] = out


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=80))
def test_bpe_round_trips_arbitrary_text(small_bpe, text):
    assert small_bpe.decode(small_bpe.encode(text)) == text
    assert "".join(small_bpe._chunk_re.findall(text)) == text   # the chunks cover the text


def test_bpe_special_tokens_and_readable_byte_tokens(small_bpe):
    bpe = small_bpe
    ids = bpe.encode("[CLS] to be[MASK]\n")
    assert ids[0] == bpe.cls_id and bpe.mask_id in ids
    assert bpe.decode(ids) == "[CLS] to be[MASK]\n"
    assert bpe.decode(ids, skip_special_tokens=True) == " to be\n"
    assert bpe.id_to_token(bpe.encode(" speak")[0]) == "Ġspeak"
    assert bpe.token_to_id("Ċ") == bpe._base + 10


def test_bpe_errors():
    with pytest.raises(ValueError, match="vocab_size .* at least"):
        BPETokenizer.train("abc", 100)
    with pytest.raises(ValueError, match="refers to ids outside"):
        BPETokenizer(merges=[(5, 999)])


# ---------------------------------------------------------------- JSON files

@pytest.mark.parametrize("kind", ["word", "bpe"])
def test_save_load_gives_identical_encodings(tmp_path, kind, small_bpe):
    text = SAMPLE * 3
    tok = (WordTokenizer.train(text, lower=False, additional_special_tokens=["<x>"])
           if kind == "word" else small_bpe)
    path = tmp_path / "tok.json"
    tok.save(path)
    assert not os.path.exists(f"{path}.tmp")
    json.loads(path.read_text(encoding="utf-8"))   # plain JSON, no pickle
    for again in (type(tok).load(path), load_tokenizer(path)):
        assert type(again) is type(tok)
        assert again.encode(text + " <x> [MASK]") == tok.encode(text + " <x> [MASK]")
        assert again._itos == tok._itos and again.special_tokens == tok.special_tokens
        assert (again.pad_id, again.mask_id) == (tok.pad_id, tok.mask_id)


def test_bad_files_give_clear_errors(tmp_path, small_bpe):
    bpe = small_bpe
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_tokenizer(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match="no 'type' field"):
        load_tokenizer(bad)
    bad.write_text(json.dumps({"type": "sentencepiece"}))
    with pytest.raises(ValueError, match="unknown type 'sentencepiece'"):
        load_tokenizer(bad)
    bpe.save(tmp_path / "b.json")
    with pytest.raises(ValueError, match="holds a 'bpe' tokenizer"):
        WordTokenizer.load(tmp_path / "b.json")
    state = json.loads((tmp_path / "b.json").read_text())
    del state["merges"]
    bad.write_text(json.dumps(state))
    with pytest.raises(ValueError, match="not a valid tokenizer file"):
        load_tokenizer(bad)
    with pytest.raises(FileNotFoundError):
        load_tokenizer(tmp_path / "missing.json")
