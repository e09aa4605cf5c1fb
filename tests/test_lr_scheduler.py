"""nablagrad.optim.lr_scheduler: learning-rate (and momentum) sequences equal torch's step by step."""
import copy
import warnings

import numpy as np
import pytest
import torch

import nablagrad as ng
import nablagrad.optim as optim
from nablagrad.optim import lr_scheduler as S

STEPS = 60


def _pair(opt_name="SGD", **opt_kwargs):
    """Two optimizers over two parameter groups with different learning rates."""
    kw = dict(lr=0.1, momentum=0.9) if opt_name == "SGD" else dict(lr=0.1)
    kw.update(opt_kwargs)
    a = [ng.zeros(3, requires_grad=True), ng.zeros(2, requires_grad=True)]
    b = [torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)]
    opt_ng = getattr(optim, opt_name)([{"params": a[:1]}, {"params": a[1:], "lr": 0.03}], **kw)
    opt_t = getattr(torch.optim, opt_name)([{"params": b[:1]}, {"params": b[1:], "lr": 0.03}], **kw)
    return opt_ng, opt_t


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _compare(sched_ng, sched_t, opt_ng, opt_t, steps=STEPS, metrics=None, changes=True):
    def check(i):
        np.testing.assert_allclose(sched_ng.get_last_lr(), sched_t.get_last_lr(), rtol=1e-13,
                                   atol=1e-15, err_msg=f"step {i}")
        np.testing.assert_allclose([g["lr"] for g in opt_ng.param_groups],
                                   [g["lr"] for g in opt_t.param_groups], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(_momenta(opt_ng), _momenta(opt_t), rtol=1e-13)

    check(0)
    seen = set()
    for i in range(steps):
        opt_ng.step()
        opt_t.step()
        if metrics is None:
            sched_ng.step()
            sched_t.step()
        else:
            sched_ng.step(metrics[i])
            sched_t.step(metrics[i])
        check(i + 1)
        seen.add(round(sched_t.get_last_lr()[0], 12))
    assert (len(seen) > 1) == changes  # whether the schedule changed the learning rate


def _fn(epoch):
    return 0.95 ** epoch + 0.01 * (epoch % 3)


CASES = {
    "LambdaLR": lambda m, o: m.LambdaLR(o, _fn),
    "LambdaLR-list": lambda m, o: m.LambdaLR(o, [_fn, lambda e: 1 / (1 + e)]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.97),
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[5, 20, 20, 41], gamma=0.3),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=9),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=25),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.93),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=40, power=2.0),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=13, eta_min=1e-3),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2,
                                                                                eta_min=1e-4),
    "CosineAnnealingWarmRestarts-T1": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7),
    "CyclicLR-triangular": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=6, step_size_down=9),
    "CyclicLR-triangular2": lambda m, o: m.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=5,
                                                    mode="triangular2"),
    "CyclicLR-exp_range": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=4, mode="exp_range",
                                                  gamma=0.97, cycle_momentum=False),
    "OneCycleLR-cos": lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.2], total_steps=STEPS),
    "OneCycleLR-linear-3phase": lambda m, o: m.OneCycleLR(o, max_lr=0.5, epochs=6,
                                                          steps_per_epoch=10,
                                                          anneal_strategy="linear",
                                                          three_phase=True, pct_start=0.25),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.2, total_iters=10), m.ExponentialLR(o, gamma=0.9),
            m.CosineAnnealingLR(o, T_max=15)], milestones=[10, 30]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ExponentialLR(o, gamma=0.95), m.StepLR(o, step_size=4, gamma=0.5)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_lr_sequence_matches_torch(name):
    opt_ng, opt_t = _pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched_t = CASES[name](torch.optim.lr_scheduler, opt_t)
        sched_ng = CASES[name](S, opt_ng)
        _compare(sched_ng, sched_t, opt_ng, opt_t)


def test_two_schedulers_on_one_optimizer_compose_like_torch():
    opt_ng, opt_t = _pair()
    a = [S.StepLR(opt_ng, 5, 0.5), S.CosineAnnealingLR(opt_ng, T_max=9)]
    b = [torch.optim.lr_scheduler.StepLR(opt_t, 5, 0.5),
         torch.optim.lr_scheduler.CosineAnnealingLR(opt_t, T_max=9)]
    for _ in range(STEPS):
        opt_ng.step()
        opt_t.step()
        for s in a + b:
            s.step()
        np.testing.assert_allclose([g["lr"] for g in opt_ng.param_groups],
                                   [g["lr"] for g in opt_t.param_groups], rtol=1e-12)


def test_cyclic_momentum_on_adam_betas():
    opt_ng, opt_t = _pair("Adam")
    _compare(S.CyclicLR(opt_ng, 0.01, 0.1, step_size_up=5),
             torch.optim.lr_scheduler.CyclicLR(opt_t, 0.01, 0.1, step_size_up=5), opt_ng, opt_t)


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(mode="max", factor=0.5, patience=2, cooldown=3, min_lr=[0.01, 0.001]),
    dict(patience=1, threshold=0.05, threshold_mode="abs", eps=1e-3),
    dict(mode="max", patience=0, threshold_mode="abs", factor=0.7),
])
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    rng = np.random.default_rng(1)
    metrics = np.concatenate([np.linspace(1, 0.5, 10), 0.5 + 0.05 * rng.standard_normal(50),
                              np.linspace(0.5, 0.8, 20)]).tolist()
    opt_ng, opt_t = _pair()
    sched_ng = S.ReduceLROnPlateau(opt_ng, **kwargs)
    sched_t = torch.optim.lr_scheduler.ReduceLROnPlateau(opt_t, **kwargs)
    _compare(sched_ng, sched_t, opt_ng, opt_t, steps=len(metrics), metrics=metrics)
    assert sched_ng.best == sched_t.best and sched_ng.num_bad_epochs == sched_t.num_bad_epochs


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
                                  "OneCycleLR-cos", "SequentialLR", "CyclicLR-triangular2"])
def test_state_dict_round_trip(name):
    opt_ref, _ = _pair()
    ref = CASES[name](S, opt_ref)
    opt, _ = _pair()
    sched = CASES[name](S, opt)
    for _ in range(25):
        opt_ref.step(), ref.step(), opt.step(), sched.step()
    saved_sched, saved_opt = copy.deepcopy(sched.state_dict()), copy.deepcopy(opt.state_dict())
    opt2, _ = _pair()
    sched2 = CASES[name](S, opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    assert "optimizer" not in saved_sched
    for _ in range(25):
        opt_ref.step(), ref.step(), opt2.step(), sched2.step()
        assert sched2.get_last_lr() == ref.get_last_lr()
        assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt_ref.param_groups]


def test_closed_form_epoch_argument():
    opt_ng, opt_t = _pair()
    s_ng = S.StepLR(opt_ng, step_size=3, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s_t = torch.optim.lr_scheduler.StepLR(opt_t, step_size=3, gamma=0.5)
        s_t.step(10)
    s_ng.step(10)
    assert s_ng.last_epoch == 10
    np.testing.assert_allclose(s_ng.get_last_lr(), s_t.get_last_lr(), rtol=1e-15)


def test_errors():
    opt, _ = _pair()
    with pytest.raises(TypeError, match="not an Optimizer"):
        S.StepLR(object(), 3)
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(opt, 3, last_epoch=4)
    with pytest.raises(ValueError, match="one value per parameter group"):
        S.LambdaLR(opt, [_fn])
    with pytest.raises(ValueError, match="factor"):
        S.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        S.SequentialLR(opt, [S.StepLR(opt, 3), S.ReduceLROnPlateau(opt)], milestones=[3])
    with pytest.raises(ValueError, match="milestone"):
        S.SequentialLR(opt, [S.StepLR(opt, 3)], milestones=[3])
    with pytest.raises(ValueError, match="total_steps"):
        S.OneCycleLR(opt, 0.1)
    s = S.OneCycleLR(opt, 0.1, total_steps=2)
    s.step(), s.step()
    with pytest.raises(ValueError, match="tried to step 3 times"):
        s.step()


@pytest.mark.parametrize("kwargs", [dict(swa_lr=0.05), dict(swa_lr=[0.05, 0.2], anneal_epochs=7,
                                                            anneal_strategy="linear"),
                                    dict(swa_lr=0.01, anneal_epochs=0)])
def test_swalr_matches_torch(kwargs):
    from nablagrad.optim import swa_utils
    opt_ng, opt_t = _pair()
    _compare(swa_utils.SWALR(opt_ng, **kwargs), torch.optim.swa_utils.SWALR(opt_t, **kwargs),
             opt_ng, opt_t, steps=20, changes=kwargs.get("anneal_epochs") != 0)
    assert opt_ng.param_groups[0]["lr"] == pytest.approx(np.ravel(kwargs["swa_lr"])[0])
