"""Which checkpoint an artifact is, and so which licence terms bind it.

Entries are ordered most specific first (a distill before its base family, Vision before the
Llama 3.2 text models, the Qwen2.5 3B and 72B sizes before the other Qwen2.5 sizes); the first
pattern that matches the artifact's own names wins, and only then are its base models tried.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from lockgate.registry import licence_terms as t
from lockgate.registry.licence_terms import Licence


@dataclass(frozen=True)
class Checkpoint:
    key: str
    title: str
    licence: Licence
    pattern: str
    repos: tuple[str, ...] = ()
    base_model: str | None = None

    @property
    def source_url(self) -> str:
        return f"https://huggingface.co/{self.repos[0]}" if self.repos else self.licence.url

    def matches(self, text: str) -> bool:
        return re.search(self.pattern, text) is not None


def _cp(
    key: str, title: str, licence: Licence, pattern: str, *repos: str, base: str | None = None
) -> Checkpoint:
    return Checkpoint(key=key, title=title, licence=licence, pattern=pattern, repos=repos, base_model=base)


_SIZE = r"(?<![\w.]){}b(?!\w)"
KIMI_K25 = replace(t.KIMI_K2, key="kimi-k2.5-modified-mit", attribution="Kimi K2.5")
KIMI_K26 = replace(t.KIMI_K2, key="kimi-k2.6-modified-mit", attribution="Kimi K2.6")

CHECKPOINTS: tuple[Checkpoint, ...] = (
    _cp("deepseek-r1-distill-llama-8b", "DeepSeek-R1-Distill-Llama-8B", t.LLAMA_31,
        r"deepseek-r1-distill-llama-8b", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
        base="meta-llama/Llama-3.1-8B"),
    _cp("deepseek-r1-distill-llama-70b", "DeepSeek-R1-Distill-Llama-70B", t.LLAMA_33,
        r"deepseek-r1-distill-llama-70b", "deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
        base="meta-llama/Llama-3.3-70B-Instruct"),
    _cp("deepseek-r1-distill-qwen", "DeepSeek-R1-Distill-Qwen 1.5B/7B/14B/32B", t.APACHE,
        r"deepseek-r1-distill-qwen", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B",
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", base="Qwen2.5 (Apache-2.0 sizes)"),
    _cp("deepseek-r1", "DeepSeek-R1 (Jan 2025 and later revisions)", t.MIT,
        r"deepseek-r1(?!-distill)", "deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-R1-0528"),
    _cp("deepseek-v3-0324", "DeepSeek-V3-0324, V3.1, V3.2, V4", t.MIT,
        r"deepseek-v3[-.]?(0324|1|2)|deepseek-v4", "deepseek-ai/DeepSeek-V3-0324",
        "deepseek-ai/DeepSeek-V3.1", "deepseek-ai/DeepSeek-V3.2"),
    _cp("deepseek-v3", "DeepSeek-V3 (Dec 2024 base/chat)", t.DEEPSEEK,
        r"deepseek-v3", "deepseek-ai/DeepSeek-V3", "deepseek-ai/DeepSeek-V3-Base"),
    _cp("llama-3.2-vision", "Llama 3.2 Vision 11B/90B", t.LLAMA_32_VISION,
        r"llama-?3\.2.*vision|llama-guard-3-11b-vision", "meta-llama/Llama-3.2-11B-Vision-Instruct",
        "meta-llama/Llama-3.2-11B-Vision", "meta-llama/Llama-3.2-90B-Vision-Instruct",
        "meta-llama/Llama-3.2-90B-Vision", "meta-llama/Llama-Guard-3-11B-Vision"),
    _cp("llama-3.2", "Llama 3.2 1B/3B (text)", t.LLAMA_32_TEXT,
        r"llama-?3\.2", "meta-llama/Llama-3.2-1B-Instruct", "meta-llama/Llama-3.2-3B-Instruct",
        "meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.2-3B"),
    _cp("llama-3.3", "Llama 3.3 70B", t.LLAMA_33, r"llama-?3\.3", "meta-llama/Llama-3.3-70B-Instruct"),
    _cp("llama-3.1", "Llama 3.1 8B/70B/405B", t.LLAMA_31, r"llama-?3\.1",
        "meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct",
        "meta-llama/Llama-3.1-405B-Instruct", "meta-llama/Llama-3.1-8B"),
    _cp("llama-prompt-guard-2", "Llama Prompt Guard 2 (text-only)", t.LLAMA_4_TEXT,
        r"prompt-guard-2", "meta-llama/Llama-Prompt-Guard-2-86M", "meta-llama/Llama-Prompt-Guard-2-22M"),
    _cp("llama-4", "Llama 4 Scout / Maverick", t.LLAMA_4, r"llama-?4(?![\d.])",
        "meta-llama/Llama-4-Scout-17B-16E-Instruct", "meta-llama/Llama-4-Maverick-17B-128E-Instruct"),
    _cp("llama-3", "Meta Llama 3 8B/70B (Apr 2024)", t.LLAMA_3, r"llama-?3(?![\d.])",
        "meta-llama/Meta-Llama-3-8B-Instruct", "meta-llama/Meta-Llama-3-70B-Instruct"),
    _cp("qwen2.5-3b", "Qwen2.5 3B", t.QWEN_RESEARCH, r"qwen-?2\.5.*" + _SIZE.format("3"),
        "Qwen/Qwen2.5-3B-Instruct", "Qwen/Qwen2.5-3B"),
    _cp("qwen2.5-72b", "Qwen2.5 72B", t.QWEN, r"qwen-?2\.5.*" + _SIZE.format("72"),
        "Qwen/Qwen2.5-72B-Instruct", "Qwen/Qwen2.5-72B"),
    _cp("qwen2.5", "Qwen2.5 0.5B/1.5B/7B/14B/32B", t.APACHE, r"qwen-?2\.5",
        "Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-1.5B-Instruct",
        "Qwen/Qwen2.5-14B-Instruct", "Qwen/Qwen2.5-32B-Instruct"),
    _cp("qwen2-72b", "Qwen2 72B", t.TONGYI_QIANWEN, r"qwen-?2(?![\d.]).*" + _SIZE.format("72"),
        "Qwen/Qwen2-72B-Instruct"),
    _cp("qwen2", "Qwen2 (other sizes)", t.APACHE, r"qwen-?2(?![\d.])", "Qwen/Qwen2-7B-Instruct"),
    _cp("qwen3", "Qwen3 / Qwen3.5 / Qwen3.6 open weights", t.APACHE, r"qwen-?3",
        "Qwen/Qwen3-8B", "Qwen/Qwen3-30B-A3B", "Qwen/Qwen3-235B-A22B"),
    _cp("qwen-1.8b", "Qwen 1.8B", t.TONGYI_QIANWEN_RESEARCH, r"qwen(-?1\.5)?-1\.8b", "Qwen/Qwen-1_8B"),
    _cp("qwen", "Qwen / Qwen1.5", t.TONGYI_QIANWEN, r"qwen(-?1\.5)?(?![\w.])",
        "Qwen/Qwen-7B-Chat", "Qwen/Qwen1.5-7B-Chat"),
    _cp("gemma-4", "Gemma 4", t.APACHE, r"gemma-?4", "google/gemma-4"),
    _cp("gemma", "Gemma 1 / 2 / 3 / 3n", t.GEMMA, r"gemma",
        "google/gemma-3-4b-it", "google/gemma-2-9b-it", "google/gemma-7b-it", "google/gemma-3n-E4B-it"),
    _cp("mistral-mrl", "Mistral Large 2/2.1, Pixtral Large, Ministral 8B", t.MISTRAL_RESEARCH,
        r"mistral-large-(instruct-)?(2407|2411|2(?![\d.])|2\.1)|pixtral-large|ministral-8b",
        "mistralai/Mistral-Large-Instruct-2411", "mistralai/Pixtral-Large-Instruct-2411",
        "mistralai/Ministral-8B-Instruct-2410"),
    _cp("codestral-22b", "Codestral 22B", t.MISTRAL_NON_PRODUCTION, r"codestral",
        "mistralai/Codestral-22B-v0.1"),
    _cp("devstral-small", "Devstral Small", t.APACHE, r"devstral-small", "mistralai/Devstral-Small-2505"),
    _cp("devstral-2", "Devstral 2 123B", t.DEVSTRAL_2, r"devstral-2(?![\d.])",
        "mistralai/Devstral-2-123B-Instruct-2512"),
    _cp("mistral-apache", "Mistral 7B, Mixtral, Nemo, Small 3.x/4, Magistral Small, Ministral 3, Large 3",
        t.APACHE, r"mistral|mixtral|magistral-small|ministral",
        "mistralai/Mistral-7B-Instruct-v0.3", "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "mistralai/Mistral-Nemo-Instruct-2407", "mistralai/Mistral-Small-24B-Instruct-2501"),
    _cp("smollm2", "SmolLM2 135M/360M/1.7B", t.APACHE, r"smollm-?2",
        "HuggingFaceTB/SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-360M-Instruct",
        "HuggingFaceTB/SmolLM2-1.7B-Instruct"),
    _cp("smollm3", "SmolLM3 3B", t.APACHE, r"smollm-?3", "HuggingFaceTB/SmolLM3-3B"),
    _cp("kimi-k2.6", "Kimi K2.6", KIMI_K26, r"kimi-k2\.6", "moonshotai/Kimi-K2.6"),
    _cp("kimi-k2.5", "Kimi K2.5", KIMI_K25, r"kimi-k2\.5", "moonshotai/Kimi-K2.5"),
    _cp("kimi-k2", "Kimi K2", t.KIMI_K2, r"kimi-k2",
        "moonshotai/Kimi-K2-Instruct", "moonshotai/Kimi-K2-Base"),
    _cp("glm-4.5+", "GLM-4.5 / 4.6 / 5.x", t.MIT, r"glm-?(4\.[5-9]|5)", "zai-org/GLM-4.5", "zai-org/GLM-4.6"),
    _cp("glm-4", "GLM-4-9B / GLM-Edge", t.GLM_4, r"glm-?4(?![\d.])|glm-edge", "THUDM/glm-4-9b-chat"),
)  # fmt: skip

_BY_TAG: dict[str, Licence] = {
    lic.hf_tag: lic
    for lic in (t.APACHE, t.MIT, t.LLAMA_3, t.LLAMA_31, t.LLAMA_33, t.LLAMA_4, t.GEMMA)
    if lic.hf_tag
}


def normalise(text: str) -> str:
    return re.sub(r"[\s_]+", "-", text.strip().lower())


def find_checkpoint(key: str) -> Checkpoint | None:
    """A checkpoint by its key or by one of its Hugging Face repo ids (case-insensitive)."""
    wanted = key.strip().lower()
    for cp in CHECKPOINTS:
        if wanted == cp.key or wanted in (r.lower() for r in cp.repos):
            return cp
    return None


def match_checkpoint(names: Sequence[str], base_models: Sequence[str] = ()) -> Checkpoint | None:
    """The first checkpoint matching the artifact's own names, else one matching a base model."""
    for group in (names, base_models):
        text = " | ".join(normalise(n) for n in group if n)
        if not text:
            continue
        for cp in CHECKPOINTS:
            if cp.matches(text):
                return cp
    return None


def licence_for_tag(tag: str | None) -> Licence | None:
    """Terms from a Hugging Face / GGUF ``license`` tag alone, where the tag is unambiguous."""
    return _BY_TAG.get(normalise(tag)) if tag else None
