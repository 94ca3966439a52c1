"""LoRA training with transformers and peft: seeded, checkpointed, resumable, CPU or GPU.

The base model is loaded from its original Hugging Face weights when the spec names a local
folder of them, else from the registered GGUF file, dequantized to fp32 by transformers (which
of the two is recorded).  Only the final assistant message of each example is learned (the
prompt's tokens are masked out of the loss).  The batch order is a seeded shuffle per epoch and
dropout draws from torch's generator, whose state is checkpointed with the LoRA weights, the
optimiser and the schedule: a run resumed from a checkpoint ends with the same weights as
one that was never interrupted.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lockgate.tune.dataset import Example
from lockgate.tune.errors import MissingExtra, TuneError
from lockgate.tune.spec import LoraSpec, TrainSpec

try:
    import torch
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
    from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
    from transformers.utils import logging as hf_logging
except ImportError as exc:  # pragma: no cover - depends on the install
    raise MissingExtra(
        f"lockgate tune needs the 'tune' extra ({exc.name} is missing): pip install 'lockgate[tune]'"
    ) from None

IGNORE = -100
KEEP_CHECKPOINTS = 2
ProgressFn = Callable[["StepInfo"], None]


@dataclass(frozen=True)
class BaseSource:
    """Where the base weights come from: a GGUF file (dequantized) or a folder of original weights."""

    gguf: Path
    weights: Path | None = None

    @property
    def kind(self) -> str:
        return "original-weights" if self.weights is not None else "dequantized-gguf"


@dataclass(frozen=True)
class StepInfo:
    step: int
    total: int
    loss: float
    resumed_from: int


@dataclass
class TrainResult:
    lora: dict[str, Any]  # HF parameter name -> tensor (peft's adapter state dict)
    losses: list[float]
    resumed_from: int
    device: str
    seconds: float
    config: dict[str, Any] = field(default_factory=dict)  # the base model's config (heads, layers)


_BASES: dict[BaseSource, tuple[Any, Any]] = {}


def load_base(source: BaseSource) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load once per process (dequantizing takes tens of seconds); callers get their own copy."""
    if source not in _BASES:
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # the run shows its own
        if source.weights is not None:
            tok = AutoTokenizer.from_pretrained(source.weights, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(
                source.weights, local_files_only=True, dtype=torch.float32
            )
        else:
            folder, name = source.gguf.parent, source.gguf.name
            tok = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, local_files_only=True)
        if model.config.model_type != "llama":
            raise TuneError(
                f"base model {source.gguf}: architecture {model.config.model_type!r} is not "
                "supported by the GGUF adapter export (llama family only)"
            )
        _BASES[source] = (model, tok)
    model, tok = _BASES[source]
    return copy.deepcopy(model), tok


def encode(tok: PreTrainedTokenizerBase, example: Example, max_length: int) -> tuple[list[int], list[int]]:
    """Token ids and labels: the prompt (chat template up to the answer) is masked out."""
    prompt = example.prompt()
    full = [*prompt, {"role": "assistant", "content": example.answer}]
    head = str(tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True))
    text = str(tok.apply_chat_template(full, tokenize=False))
    if not text.startswith(head):
        raise TuneError("the chat template does not render the prompt as a prefix of the conversation")
    head_ids = tok(head, add_special_tokens=False)["input_ids"]
    ids = head_ids + tok(text[len(head) :], add_special_tokens=False)["input_ids"]
    labels = [IGNORE] * len(head_ids) + ids[len(head_ids) :]
    if len(ids) > max_length:
        ids, labels = ids[-max_length:], labels[-max_length:]  # keep the answer, trim the prompt's start
    return ids, labels


def batch_order(n: int, steps: int, batch_size: int, seed: int) -> list[list[int]]:
    """Indices of each step's batch: consecutive seeded shuffles (epochs) of range(n)."""
    rng = random.Random(seed)
    flat: list[int] = []
    while len(flat) < steps * batch_size:
        epoch = list(range(n))
        rng.shuffle(epoch)
        flat.extend(epoch)
    return [flat[s * batch_size : (s + 1) * batch_size] for s in range(steps)]


def _collate(rows: list[tuple[list[int], list[int]]], pad: int, device: torch.device) -> dict[str, Any]:
    width = max(len(ids) for ids, _ in rows)
    ids = [r[0] + [pad] * (width - len(r[0])) for r in rows]
    labels = [r[1] + [IGNORE] * (width - len(r[1])) for r in rows]
    mask = [[1] * len(r[0]) + [0] * (width - len(r[0])) for r in rows]
    return {
        "input_ids": torch.tensor(ids, device=device),
        "labels": torch.tensor(labels, device=device),
        "attention_mask": torch.tensor(mask, device=device),
    }


def answer_loss(model: Any, batch: dict[str, Any]) -> Any:
    """Next-token cross-entropy over the answer tokens only.

    The same value as the model's own loss with the prompt labelled -100, but the output layer
    (vocabulary x hidden, the largest matrix of a small model) runs only where there is a label.
    """
    causal = model.get_base_model()
    hidden = causal.model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state
    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    logits = causal.lm_head(hidden[:, :-1][keep])
    return torch.nn.functional.cross_entropy(logits.float(), targets[keep])


def pick_device(wanted: str) -> torch.device:
    if wanted == "cuda" and not torch.cuda.is_available():
        raise TuneError("train.device: cuda was asked for but torch sees no GPU (use auto or cpu)")
    if wanted == "cpu" or (wanted == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda")


def _schedule(spec: TrainSpec) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < spec.warmup_steps:
            return (step + 1) / (spec.warmup_steps + 1)
        rest = max(1, spec.steps - spec.warmup_steps)
        return max(0.0, 1.0 - (step - spec.warmup_steps) / rest)

    return factor


@dataclass
class _State:
    model: Any
    optimiser: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    losses: list[float]
    step: int = 0


def _save(ckpt_dir: Path, st: _State) -> None:
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "step": st.step,
        "lora": get_peft_model_state_dict(st.model, save_embedding_layers=False),
        "optimiser": st.optimiser.state_dict(),
        "scheduler": st.scheduler.state_dict(),
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "losses": st.losses,
    }
    path = ckpt_dir / f"step-{st.step:06d}.pt"
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    for old in sorted(ckpt_dir.glob("step-*.pt"))[:-KEEP_CHECKPOINTS]:
        old.unlink()


def latest_checkpoint(ckpt_dir: Path) -> Path | None:
    found = sorted(ckpt_dir.glob("step-*.pt"))
    return found[-1] if found else None


def _restore(path: Path, st: _State) -> None:
    payload = torch.load(path, map_location="cpu", weights_only=False)
    set_peft_model_state_dict(st.model, payload["lora"])
    st.optimiser.load_state_dict(payload["optimiser"])
    st.scheduler.load_state_dict(payload["scheduler"])
    torch.set_rng_state(payload["rng"])
    if payload.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(payload["cuda_rng"])
    st.step, st.losses = int(payload["step"]), list(payload["losses"])


def _prepare(source: BaseSource, lora: LoraSpec, spec: TrainSpec, seed: int) -> tuple[_State, Any, Any]:
    torch.manual_seed(seed)
    base, tok = load_base(source)
    peft_cfg = LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.targets),
        bias="none",
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, peft_cfg)
    device = pick_device(spec.device)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=spec.learning_rate, weight_decay=spec.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, _schedule(spec))
    return _State(model, optimiser, scheduler, []), tok, device


def train(
    source: BaseSource,
    examples: list[Example],
    lora: LoraSpec,
    spec: TrainSpec,
    seed: int,
    ckpt_dir: Path,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Train (or resume from the newest checkpoint in ``ckpt_dir``) and return the LoRA weights."""
    started = time.perf_counter()
    st, tok, device = _prepare(source, lora, spec, seed)
    resume = latest_checkpoint(ckpt_dir)
    if resume is not None:
        _restore(resume, st)
    resumed_from = st.step
    rows = [encode(tok, ex, spec.max_length) for ex in examples]
    order = batch_order(len(rows), spec.steps, spec.batch_size, seed)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    st.model.train()
    while st.step < spec.steps:
        batch = _collate([rows[i] for i in order[st.step]], pad, device)
        loss = answer_loss(st.model, batch)
        loss.backward()
        st.optimiser.step()
        st.scheduler.step()
        st.optimiser.zero_grad(set_to_none=True)
        st.losses.append(round(float(loss.item()), 6))
        st.step += 1
        if st.step % spec.checkpoint_every == 0 or st.step == spec.steps:
            _save(ckpt_dir, st)
        if progress is not None:
            progress(StepInfo(st.step, spec.steps, st.losses[-1], resumed_from))
    weights = {
        k: v.detach().to("cpu")
        for k, v in get_peft_model_state_dict(st.model, save_embedding_layers=False).items()
    }
    cfg = st.model.base_model.model.config
    config = {
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "num_hidden_layers": cfg.num_hidden_layers,
        "model_type": cfg.model_type,
    }
    return TrainResult(weights, st.losses, resumed_from, str(device), time.perf_counter() - started, config)


def library_versions() -> dict[str, str]:
    import peft
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}
