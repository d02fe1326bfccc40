"""The character n-gram model beside the encoder: fitted on the training split, mixed in only when
it gets more validation messages right, saved without pickles."""

from __future__ import annotations

import numpy as np

from agent.nlu import sparse

TRAIN = [
    ("我要退货", "return"),
    ("怎么退货啊", "return"),
    ("退掉这件", "return"),
    ("想退款", "refund"),
    ("退款多久到账", "refund"),
    ("钱什么时候退回来", "refund"),
    ("我要换货", "exchange"),
    ("换个尺码", "exchange"),
    ("能换颜色吗", "exchange"),
]
LABELS = ["exchange", "refund", "return", "greet"]  # greet: known to the encoder, absent from this data


def fitted() -> sparse.SparseModel:
    return sparse.fit([t for t, _ in TRAIN], [y for _, y in TRAIN], LABELS)


def test_character_ngrams_decide_short_chinese_messages():
    model = fitted()
    probs = model.probabilities(["退款到账了吗", "这件换货", "退货流程"])
    assert [LABELS[i] for i in probs.argmax(1)] == ["refund", "exchange", "return"]
    assert np.allclose(probs.sum(1), 1) and (probs[:, LABELS.index("greet")] < 1e-6).all()


def test_kept_only_when_it_gets_more_validation_messages_right():
    texts = ["退款到账了吗", "这件换货", "退货流程", "换个颜色"]
    y = np.array([1, 0, 2, 0])
    confused = np.full((4, 4), 0.25, dtype=np.float32)
    confused[:, 3] = 0.4  # an encoder that says greet to everything
    kept = sparse.choose_weight(fitted(), confused, texts, y)
    assert kept is not None and kept.weight in sparse.WEIGHTS
    assert (kept.mix(confused, texts).argmax(1) == y).all()
    perfect = np.eye(4, dtype=np.float32)[y] * 0.9 + 0.025
    assert sparse.choose_weight(fitted(), perfect, texts, y) is None  # nothing to gain


def test_save_and_load_give_the_same_probabilities(tmp_path):
    model = fitted()
    model.weight = 0.3
    model.save(tmp_path)
    again = sparse.SparseModel.load(tmp_path)
    texts = ["退货", "换货可以吗", "hello"]
    assert again.weight == 0.3 and np.allclose(again.probabilities(texts), model.probabilities(texts), atol=1e-6)
    assert sparse.SparseModel.load(tmp_path / "nothing") is None


def test_two_labels_match_logistic_regression():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts, labels = ["退货", "我要退货", "退款", "退款到账"], ["return", "return", "refund", "refund"]
    model = sparse.fit(texts, labels, ["refund", "return"])
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=sparse.NGRAMS, sublinear_tf=True)
    reference = LogisticRegression(C=10.0, max_iter=2000).fit(vectorizer.fit_transform(texts), labels)
    probe = ["退货吗", "退款吗"]
    assert np.allclose(model.probabilities(probe), reference.predict_proba(vectorizer.transform(probe)), atol=1e-5)
