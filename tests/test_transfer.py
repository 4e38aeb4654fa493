"""tinyml_lib.transfer: the shipped backbone, the classifier head, fine-tuning, pretraining."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyml_lib import config, transfer


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


@pytest.fixture(scope="module")
def scenes():
    from tinyml_lib.datasets import load_person

    x, y, _ = load_person(30, source="offline", seed=3, split="train")
    x_test, y_test, _ = load_person(100, source="offline", seed=0, split="test")
    return x, y, x_test, y_test


# -- the shipped weights ---------------------------------------------------------------------

def test_shipped_weights_are_small_and_say_what_they_were_trained_on():
    assert transfer.BACKBONE_PATH.exists()
    assert transfer.BACKBONE_PATH.stat().st_size < 500 * 1024
    info = transfer.backbone_info()
    assert "not ImageNet" in info["pretrained_on"] and "no person" in info["pretrained_on"]
    assert info["pretrain_classes"] == list(transfer.PRETRAIN_CLASSES)
    assert "person" not in info["pretrain_classes"]
    assert info["test_accuracy"] > 3 * info["chance"]     # it did learn its own task
    assert info["made_by"].startswith("tinyml_lib.transfer.pretrain_backbone(")


def test_shipped_backbone_is_a_frozen_feature_extractor(keras):
    backbone = transfer.load_backbone("offline")
    assert backbone.name == "backbone"
    assert backbone.input_shape == (None, 96, 96, 1)
    assert backbone.output_shape == (None, 6, 6, 128)
    assert backbone.trainable_weights == []
    x, _, _ = transfer.load_objects(2, seed=5, split="test")
    features = np.asarray(backbone.predict(x, verbose=0)).mean(axis=(1, 2))
    assert np.isfinite(features).all()
    assert features.std(axis=0).max() > 0.01           # different scenes, different features
    # the pretrained weights differ from an untrained backbone's
    fresh = transfer.build_backbone()
    assert not np.allclose(backbone.get_layer("block7_pw").get_weights()[0],
                           fresh.get_layer("block7_pw").get_weights()[0])


def test_auto_is_the_shipped_backbone_offline(monkeypatch):
    monkeypatch.setenv("TINYML_OFFLINE", "1")
    backbone = transfer.load_backbone("auto", trainable=True)
    assert backbone.output_shape == (None, 6, 6, 128)
    assert len(backbone.trainable_weights) > 0


# -- MobileNetV2 (online), tested without downloading -----------------------------------------

def test_mobilenet_is_refused_offline_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("TINYML_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="offline mode is on.*source='offline'"):
        transfer.load_backbone("mobilenet")


def test_mobilenet_takes_grayscale_and_is_frozen(monkeypatch, keras):
    monkeypatch.setenv("TINYML_OFFLINE", "0")
    monkeypatch.setattr(transfer, "MOBILENET_WEIGHTS", None)   # no download in tests
    backbone = transfer.load_backbone("auto")
    assert backbone.input_shape == (None, 96, 96, 1)
    assert backbone.output_shape == (None, 3, 3, 1280)
    assert backbone.trainable_weights == []
    model = transfer.build_classifier(backbone, 2)
    out = np.asarray(model.predict(np.random.default_rng(0).random((2, 96, 96, 1)), verbose=0))
    assert out.shape == (2, 2) and np.allclose(out.sum(axis=1), 1, atol=1e-5)
    learning = transfer.unfreeze(model, n_blocks=1)
    assert learning and all(name.startswith(("block_16", "Conv_1")) for name in learning)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"source": "imagenet"}, ValueError, "not one of 'auto', 'offline', 'mobilenet'"),
    ({"source": "offline", "trainable": "yes"}, ValueError, "True or False"),
    ({"source": "offline", "path": "/nonexistent/bb.npz"}, FileNotFoundError, "pretrain_backbone"),
])
def test_load_backbone_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        transfer.load_backbone(**kwargs)


def test_a_weights_file_of_another_architecture_is_refused(tmp_path, keras):
    path = transfer.save_backbone(transfer.build_backbone(width=4), tmp_path / "w4.npz")
    meta, arrays = transfer._read_backbone_file(path)
    np.savez(tmp_path / "bad.npz", __meta__=np.array(json.dumps({**meta, "width": 8})), **arrays)
    with pytest.raises(ValueError, match="does not match the backbone architecture"):
        transfer.load_backbone("offline", path=tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="must end in .npz"):
        transfer.save_backbone(transfer.build_backbone(width=4), tmp_path / "w.h5")


# -- pretraining data and pretraining --------------------------------------------------------

def test_load_objects_draws_one_kind_per_scene_and_is_reproducible():
    x, y, classes = transfer.load_objects(3, seed=1, size=48)
    assert x.shape == (33, 48, 48, 1) and x.dtype == np.float32
    assert classes == list(transfer.PRETRAIN_CLASSES)
    assert np.bincount(y).tolist() == [3] * 11
    assert 0 <= x.min() and x.max() <= 1
    again, _, _ = transfer.load_objects(3, seed=1, size=48)
    test, _, _ = transfer.load_objects(3, seed=1, size=48, split="test")
    assert np.array_equal(x, again) and not np.allclose(x, test)


def test_the_kind_proxy_forces_only_the_kind_question():
    proxy = transfer._OneKind(np.random.default_rng(0), "lamp")
    assert proxy.choice(["table", "lamp"]) == "lamp"
    assert proxy.choice([-1, 1]) in (-1, 1)
    assert proxy.forced == 1 and 0 <= proxy.uniform() < 1
    with pytest.raises(ValueError, match="no object kind 'lamp'"):
        proxy.choice(["table", "door"])


@pytest.mark.parametrize("kwargs, match", [
    ({"n_per_class": 0}, "n_per_class must be an integer >= 1"),
    ({"n_per_class": 2, "split": "val"}, "split='val'"),
    ({"n_per_class": 2, "size": 20}, "size must be"),
])
def test_load_objects_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        transfer.load_objects(**kwargs)


def test_pretrain_backbone_runs_in_a_tiny_configuration(tmp_path, keras):
    path = tmp_path / "tiny.npz"
    backbone, meta = transfer.pretrain_backbone(n_per_class=3, epochs=1, width=2, batch_size=16,
                                                path=path)
    assert backbone.output_shape == (None, 6, 6, 32)
    assert meta["n_train"] == 33 and meta["pretrain_classes"][0] == "table"
    assert "not ImageNet" in meta["pretrained_on"]
    loaded = transfer.load_backbone("offline", path=path)
    assert transfer.backbone_info(path)["width"] == 2
    x = np.random.default_rng(0).random((2, 96, 96, 1)).astype("float32")
    assert np.allclose(loaded.predict(x, verbose=0), backbone.predict(x, verbose=0), atol=1e-5)


# -- the architecture, the classifier and fine-tuning ----------------------------------------

def test_build_backbone_shapes_and_errors(keras):
    backbone = transfer.build_backbone((64, 64, 1), width=4)
    assert backbone.output_shape == (None, 4, 4, 64)
    with pytest.raises(ValueError, match="divisible by 16"):
        transfer.build_backbone((90, 90, 1))
    with pytest.raises(ValueError, match="width must be"):
        transfer.build_backbone(width=0)


def test_build_classifier_trains_only_the_head(keras):
    model = transfer.build_classifier(transfer.load_backbone("offline"), n_classes=2)
    assert model.output_shape == (None, 2)
    assert transfer.trainable_summary(model)["trainable"] == 128 * 2 + 2
    with pytest.raises(ValueError, match="n_classes must be an integer >= 2"):
        transfer.build_classifier(transfer.load_backbone("offline"), n_classes=1)
    with pytest.raises(ValueError, match="backbone must be a Keras model"):
        transfer.build_classifier("mobilenet")
    with pytest.raises(ValueError, match="dropout"):
        transfer.build_classifier(transfer.load_backbone("offline"), dropout=1.5)


def test_unfreeze_opens_the_last_blocks_but_not_batch_norm(keras):
    model = transfer.build_classifier(transfer.load_backbone("offline"), n_classes=2)
    names = transfer.unfreeze(model, n_blocks=2)
    assert names == ["block6_dw", "block6_pw", "block7_dw", "block7_pw"]
    backbone = model.get_layer("backbone")
    assert not backbone.get_layer("block7_pw_bn").trainable
    assert not backbone.get_layer("block5_pw").trainable
    head = 128 * 2 + 2
    opened = 9 * 64 + 64 * 128 + 9 * 128 + 128 * 128
    assert transfer.trainable_summary(model)["trainable"] == head + opened
    assert transfer.unfreeze(model, n_blocks=0) == []
    assert transfer.trainable_summary(model)["trainable"] == head
    with pytest.raises(ValueError, match="has 7 blocks"):
        transfer.unfreeze(model, n_blocks=8)
    with pytest.raises(ValueError, match="no layer named 'backbone'"):
        transfer.unfreeze(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]))


def test_transfer_beats_training_from_scratch_on_few_examples(keras, scenes):
    x, y, x_test, y_test = scenes      # 30 labelled scenes per class

    def accuracy(backbone, seed=0):
        keras.utils.set_random_seed(seed)
        model = transfer.build_classifier(backbone(), 2)
        model.compile(optimizer=keras.optimizers.Adam(3e-3),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=12, batch_size=20, verbose=0)
        return model.evaluate(x_test, y_test, verbose=0)[1]

    pretrained = accuracy(lambda: transfer.load_backbone("offline"))
    scratch = accuracy(transfer.build_backbone)
    assert pretrained > 0.7, pretrained
    assert pretrained > scratch + 0.1, (pretrained, scratch)


def test_the_int8_classifier_fits_a_nano_33_ble(keras, scenes):
    from tinyml_lib import mcu, quantize

    x, *_ = scenes
    model = transfer.build_classifier(transfer.load_backbone("offline"), 2)
    report = mcu.profile(quantize.convert(model, "int8", representative_data=x), "nano33ble")
    assert report.kind == "int8" and report.fits
    assert report.model_bytes < 100 * 1024 and report.arena_bytes < 100 * 1024
