import pytest

from hftlab.models.config import ModelConfig
from hftlab.models.experiment import Options, plan


def test_plan_gives_the_folds_or_says_why_not(learnable):
    prep = learnable(n=3000)
    cfg = ModelConfig(seq_len=16, batch_size=64, horizon=4)
    splits = plan(prep, cfg, Options(n_folds=3))
    assert len(splits) == 3 and all(s.test.start - s.val.end >= 4 + 16 for s in splits)
    with pytest.raises(ValueError, match="too little data .* fewer folds"):
        plan(learnable(n=150), cfg, Options(n_folds=3))
    with pytest.raises(ValueError, match="ddp_spawn"):
        plan(prep, cfg.model_copy(update={"strategy": "ddp_spawn"}), Options())
