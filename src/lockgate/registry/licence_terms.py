"""Licence terms as they apply to a checkpoint (facts from the licences themselves).

SPDX lists only ``Apache-2.0`` and ``MIT`` among these; every other licence uses a
``LicenseRef-`` id and keeps the Hugging Face ``license:`` tag beside it.  Two checkpoints
under one licence text can still carry different terms (Llama 3.2 text vs Vision), so a
``Licence`` here is "the terms that bind whoever serves this checkpoint".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Commercial = Literal["yes", "no", "conditional"]
ThresholdEffect = Literal["licence-required", "attribution-required"]


@dataclass(frozen=True)
class Licence:
    key: str
    spdx: str
    name: str
    url: str
    commercial: Commercial = "yes"
    hf_tag: str | None = None
    mau_threshold: int | None = None
    monthly_revenue_threshold_usd: float | None = None
    threshold_effect: ThresholdEffect = "licence-required"
    eu_domicile_exclusion: bool = False
    flow_down: bool = False
    remote_restriction: bool = False
    attribution: str | None = None
    name_prefix_rule: str | None = None
    output_training_restriction: bool = False
    governing_law: str | None = None
    notes: str = ""


APACHE = Licence(
    key="apache-2.0",
    spdx="Apache-2.0",
    name="Apache License 2.0",
    url="https://www.apache.org/licenses/LICENSE-2.0",
    hf_tag="apache-2.0",
    notes="Keep the NOTICE; patent licence ends on patent litigation.",
)
MIT = Licence(
    key="mit", spdx="MIT", name="MIT License", url="https://opensource.org/license/mit", hf_tag="mit"
)

_LLAMA_31_NOTES = (
    "Outputs may train other models if the name rule is followed; Acceptable Use Policy applies "
    "(no military use, no critical-infrastructure operation, no passing outputs off as human-written)."
)
LLAMA_3 = Licence(
    key="llama-3",
    spdx="LicenseRef-Llama-3-Community",
    name="Meta Llama 3 Community License",
    url="https://github.com/meta-llama/llama-models/blob/main/models/llama3/LICENSE",
    hf_tag="llama3",
    mau_threshold=700_000_000,
    attribution="Built with Meta Llama 3",
    output_training_restriction=True,
    governing_law="California (USA); California courts",
    notes="MAU counted on the release date; Acceptable Use Policy incorporated.",
)
LLAMA_31 = Licence(
    key="llama-3.1",
    spdx="LicenseRef-Llama-3.1-Community",
    name="Llama 3.1 Community License",
    url="https://github.com/meta-llama/llama-models/blob/main/models/llama3_1/LICENSE",
    hf_tag="llama3.1",
    mau_threshold=700_000_000,
    attribution="Built with Llama",
    name_prefix_rule="Llama",
    governing_law="California (USA); EEA/Swiss licensor is Meta Platforms Ireland Ltd.",
    notes=_LLAMA_31_NOTES,
)
LLAMA_32_TEXT = replace(
    LLAMA_31,
    key="llama-3.2",
    spdx="LicenseRef-Llama-3.2-Community",
    name="Llama 3.2 Community License",
    url="https://github.com/meta-llama/llama-models/blob/main/models/llama3_2/LICENSE",
    hf_tag="llama3.2",
)
LLAMA_32_VISION = replace(
    LLAMA_32_TEXT,
    key="llama-3.2-vision",
    eu_domicile_exclusion=True,
    notes="AUP: no rights under Section 1(a) for EU-domiciled individuals or companies with their principal "
    "place of business in the EU for the multimodal models; end users of a product built on them are exempt.",
)
LLAMA_33 = replace(
    LLAMA_31,
    key="llama-3.3",
    spdx="LicenseRef-Llama-3.3-Community",
    name="Llama 3.3 Community License",
    url="https://github.com/meta-llama/llama-models/blob/main/models/llama3_3/LICENSE",
    hf_tag="llama3.3",
    notes=_LLAMA_31_NOTES + " The AUP's EU multimodal clause has no effect: 3.3 70B is text-only.",
)
LLAMA_4 = replace(
    LLAMA_31,
    key="llama-4",
    spdx="LicenseRef-Llama-4-Community",
    name="Llama 4 Community License",
    url="https://github.com/meta-llama/llama-models/blob/main/models/llama4/LICENSE",
    hf_tag="llama4",
    eu_domicile_exclusion=True,
    notes="All Llama 4 models are natively multimodal; the AUP excludes EU-domiciled companies "
    "(end users of a product built by a non-EU licensee are exempt).",
)
LLAMA_4_TEXT = replace(
    LLAMA_4,
    key="llama-4-text",
    eu_domicile_exclusion=False,
    notes="Text-only Llama-4-licensed classifier: the EU multimodal exclusion does not reach it.",
)
TONGYI_QIANWEN = Licence(
    key="tongyi-qianwen",
    spdx="LicenseRef-Tongyi-Qianwen",
    name="Tongyi Qianwen Licence Agreement",
    url="https://huggingface.co/Qwen/Qwen-7B/blob/main/LICENSE",
    hf_tag="other",
    mau_threshold=100_000_000,
    output_training_restriction=True,
    notes="Notice text required; §5(b) forbids using the materials or outputs to improve other LLMs.",
)
TONGYI_QIANWEN_RESEARCH = replace(
    TONGYI_QIANWEN,
    key="tongyi-qianwen-research",
    spdx="LicenseRef-Tongyi-Qianwen-Research",
    name="Tongyi Qianwen Research Licence Agreement",
    url="https://huggingface.co/Qwen/Qwen-1_8B/blob/main/LICENSE",
    commercial="no",
    mau_threshold=None,
)
QWEN_RESEARCH = Licence(
    key="qwen-research",
    spdx="LicenseRef-Qwen-Research",
    name="Qwen Research License Agreement",
    url="https://huggingface.co/Qwen/Qwen2.5-3B/blob/main/LICENSE",
    hf_tag="other",
    commercial="no",
    notes="Non-commercial research use only.",
)
QWEN = Licence(
    key="qwen",
    spdx="LicenseRef-Qwen",
    name="Qwen LICENSE AGREEMENT (2024-09-19)",
    url="https://huggingface.co/Qwen/Qwen2.5-72B/blob/main/LICENSE",
    hf_tag="other",
    mau_threshold=100_000_000,
    attribution="Built with Qwen",
    notes="Commercial use above 100 million MAU needs a licence from Alibaba Cloud; "
    "models trained on it must say 'Built with Qwen' or 'Improved using Qwen'.",
)
DEEPSEEK = Licence(
    key="deepseek-1.0",
    spdx="LicenseRef-DeepSeek-1.0",
    name="DeepSeek License Agreement v1.0",
    url="https://github.com/deepseek-ai/DeepSeek-V3/blob/main/LICENSE-MODEL",
    hf_tag="other",
    flow_down=True,
    remote_restriction=True,
    governing_law="People's Republic of China; courts of Hangzhou",
    notes="OpenRAIL-derived; Attachment A use restrictions (no military use, no fully automated decisions "
    "that adversely affect legal rights, no discrimination) must bind your users; hosted access "
    "counts as Distribution.",
)
GEMMA = Licence(
    key="gemma",
    spdx="LicenseRef-Gemma-ToU",
    name="Gemma Terms of Use + Prohibited Use Policy",
    url="https://ai.google.dev/gemma/terms",
    hf_tag="gemma",
    flow_down=True,
    remote_restriction=True,
    notes="Hosted services count as Distribution; make reasonable efforts to use the latest Gemma; "
    "distillation through outputs creates Model Derivatives.",
)
MISTRAL_RESEARCH = Licence(
    key="mistral-research",
    spdx="LicenseRef-Mistral-Research",
    name="Mistral Research License (MRL)",
    url="https://mistral.ai/licenses/MRL-0.1.md",
    hf_tag="other",
    commercial="no",
    notes="Research and non-production use only without a commercial licence from Mistral AI.",
)
MISTRAL_NON_PRODUCTION = replace(
    MISTRAL_RESEARCH,
    key="mistral-non-production",
    spdx="LicenseRef-Mistral-Non-Production",
    name="Mistral Non-Production License (MNPL)",
    url="https://mistral.ai/licenses/MNPL-0.1.md",
    notes="Testing and research only.",
)
DEVSTRAL_2 = Licence(
    key="devstral-2-modified-mit",
    spdx="LicenseRef-Devstral-Modified-MIT",
    name="Devstral 2 modified MIT License",
    url="https://huggingface.co/mistralai/Devstral-2-123B-Instruct-2512",
    hf_tag="other",
    commercial="conditional",
    monthly_revenue_threshold_usd=20_000_000,
    notes="Companies above about US$20M monthly revenue need a commercial licence or Mistral's API "
    "(reported, not verified against the licence text).",
)
KIMI_K2 = Licence(
    key="kimi-k2-modified-mit",
    spdx="LicenseRef-Kimi-Modified-MIT",
    name="Kimi K2 modified MIT License",
    url="https://huggingface.co/moonshotai/Kimi-K2-Instruct/blob/main/LICENSE",
    hf_tag="other",
    mau_threshold=100_000_000,
    monthly_revenue_threshold_usd=20_000_000,
    threshold_effect="attribution-required",
    attribution="Kimi K2",
    notes="Above 100M MAU or US$20M monthly revenue, commercial products must prominently display the "
    "model name in their user interface.",
)
GLM_4 = Licence(
    key="glm-4",
    spdx="LicenseRef-GLM-4",
    name="GLM-4 Model License",
    url="https://huggingface.co/THUDM/glm-4-9b/blob/main/LICENSE",
    hf_tag="other",
    attribution="Built with glm-4",
    name_prefix_rule="glm-4",
    governing_law="People's Republic of China; Beijing Haidian court",
    notes="Bans military and illegal use.",
)
