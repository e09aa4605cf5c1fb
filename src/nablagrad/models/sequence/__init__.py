"""Sequence models of the curriculum: recurrent networks, attention, transformers and word
embeddings (notes 000 §4–5, 002, 003, 004 §5 and §12)."""
from .word2vec import Word2Vec, negative_sampling_loss, nearest_neighbours, analogy  # noqa: F401
from .bert import BERT  # noqa: F401
from .seq2seq import Seq2Seq, Seq2SeqEncoder, AttentionDecoder, beam_search  # noqa: F401
from .transformer_seq2seq import TransformerSeq2Seq  # noqa: F401
from .gpt import GPT, GPTConfig, KVCache  # noqa: F401
from .sampling import generate, sample_next, filter_logits, top_k_filter, top_p_filter  # noqa: F401
from .char_rnn import CharRNN, generate_chars  # noqa: F401
from .rnn_classifier import RNNClassifier  # noqa: F401
