"""The built-in catalogue: where well-known hosted providers stand, fact by fact.

Every fact carries the URL it rests on and a ``verified`` flag.  A fact is verified only when
the project's reference notes state it from a primary source (the provider's own documents
or terms); facts taken from third-party summaries, inferred (e.g. CLOUD Act exposure from a US
parent) or not documented at all are unverified.  ``None`` means nobody documents the fact:
policies that need it fail closed.  Operators override any fact in config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

FactValue = str | bool | tuple[str, ...] | None

US_LAWS = ("US-CLOUD-Act", "US-FISA-702")
CN_LAWS = ("PRC-NIL",)
DPF_LIST = "https://www.dataprivacyframework.gov/list"
US_ACCESS = "https://www.law.cornell.edu/uscode/text/18/2713"
PRC_ACCESS = "https://www.chinalawtranslate.com/en/national-intelligence-law-of-the-p-r-c-2017/"


@dataclass(frozen=True, slots=True)
class Fact:
    value: FactValue
    source: str
    verified: bool


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    name: str
    title: str
    facts: Mapping[str, Fact]
    notes: str = ""


Spec = tuple[FactValue, bool] | tuple[FactValue, bool, str]


def _entry(name: str, title: str, source: str, notes: str = "", **facts: Spec) -> CatalogueEntry:
    """Build an entry; a fact given as (value, verified) rests on the entry's main source."""
    built: dict[str, Fact] = {}
    for key, spec in facts.items():
        url = spec[2] if len(spec) == 3 else source
        built[key] = Fact(spec[0], url, spec[1])
    return CatalogueEntry(name, title, built, notes)


def _not_us(source: str) -> tuple[bool, bool, str]:
    """DPF certification exists only for US organisations: false for others (unverified)."""
    return (False, False, source)


_DEEPSEEK = "https://cdn.deepseek.com/policies/en-US/deepseek-privacy-policy.html"
_KIMI = "https://platform.kimi.ai/docs/agreement/modeluse"
_ZAI = "https://docs.z.ai/legal-agreement/privacy-policy"
_ALIBABA = "https://www.alibabacloud.com/help/en/model-studio/regions"
_MISTRAL = "https://legal.mistral.ai/terms"
_SCALEWAY = "https://www.scaleway.com/en/docs/generative-apis/reference-content/data-privacy/"
_OVH = "https://help.ovhcloud.com/csm/en-public-cloud-ai-endpoints-getting-started"
_IONOS = "https://docs.ionos.com/cloud/ai/ai-model-hub"
_STACKIT = "https://docs.stackit.cloud/stackit/en/ai-model-serving"
_NEBIUS = "https://docs.studio.nebius.com/legal/quick-guide"
_TOGETHER = "https://docs.together.ai/docs/privacy-and-security"
_FIREWORKS = "https://docs.fireworks.ai/guides/security_compliance/data_handling"
_OPENAI = "https://openai.com/enterprise-privacy/"
_OPENAI_EU = "https://developers.openai.com/api/docs/guides/data-residency"
_ANTHROPIC = "https://platform.claude.com/docs/en/manage-claude/data-residency"

# fmt: off
ENTRIES: tuple[CatalogueEntry, ...] = (
    _entry(
        "deepseek", "DeepSeek API", _DEEPSEEK,
        "Stored on servers in the PRC; EU DPAs acted against DeepSeek in 2025 (see docs).",
        operator_entity=("Hangzhou DeepSeek Artificial Intelligence Co., Ltd.", False),
        operator_country=("CN", False), processing_locations=(("CN",), False),
        parent_jurisdiction=("CN", False), foreign_access_laws=(CN_LAWS, False, PRC_ACCESS),
        retention=("as long as necessary; no zero-data-retention tier", False),
        zero_data_retention=(False, False), trains_on_customer_data=(True, False),
        dpf_certified=_not_us(DPF_LIST), self_hosted=(False, True),
    ),
    _entry(
        "moonshot", "Moonshot AI Kimi OpenPlatform (international)", _KIMI,
        "Processing location of the international platform is not documented.",
        operator_entity=("Moonshot AI PTE. LTD.", True), operator_country=("SG", True),
        processing_locations=(None, False), parent_jurisdiction=("CN", True),
        foreign_access_laws=(CN_LAWS, False, PRC_ACCESS), retention=("not specified", False),
        zero_data_retention=(None, False), trains_on_customer_data=(True, False),
        dpf_certified=_not_us(DPF_LIST), self_hosted=(False, True),
    ),
    _entry(
        "zai", "Z.ai API (GLM)", _ZAI, "bigmodel.cn (Beijing Zhipu Huazhang) is a different, PRC entity.",
        operator_entity=("JINGSHENG HENGXING TECHNOLOGY PTE. LTD", False),
        operator_country=("SG", False), processing_locations=(("SG",), False),
        parent_jurisdiction=("CN", False), foreign_access_laws=(CN_LAWS, False, PRC_ACCESS),
        retention=("API content processed in real time, not stored (DPA)", False),
        zero_data_retention=(True, False), trains_on_customer_data=(False, False),
        dpf_certified=_not_us(DPF_LIST), self_hosted=(False, True),
    ),
    _entry(
        "alibaba", "Alibaba Cloud Model Studio, International (Singapore)", _ALIBABA,
        "International mode excludes mainland China but may infer transiently in other regions.",
        operator_entity=("Alibaba Cloud (Singapore) Private Limited", False),
        operator_country=("SG", False), processing_locations=(("SG",), False),
        parent_jurisdiction=("CN", True), foreign_access_laws=(CN_LAWS, False, PRC_ACCESS),
        retention=("inputs and outputs stored in the selected region", True),
        zero_data_retention=(None, False), trains_on_customer_data=(None, False),
        dpf_certified=_not_us(DPF_LIST), self_hosted=(False, True),
    ),
    _entry(
        "alibaba-eu", "Alibaba Cloud Model Studio, EU mode (Frankfurt)", _ALIBABA,
        "Inference limited to the EU, but the parent company is in the PRC.",
        operator_entity=("Alibaba Cloud (Singapore) Private Limited", False),
        operator_country=("SG", False), processing_locations=(("DE",), True),
        parent_jurisdiction=("CN", True), foreign_access_laws=(CN_LAWS, False, PRC_ACCESS),
        retention=("inputs and outputs stored in Frankfurt", True),
        zero_data_retention=(None, False), trains_on_customer_data=(None, False),
        dpf_certified=_not_us(DPF_LIST), self_hosted=(False, True),
    ),
    _entry(
        "mistral", "Mistral AI La Plateforme", _MISTRAL,
        "EU by default; a US endpoint and US infrastructure exist (override facts if you use them).",
        operator_entity=("Mistral AI SAS", False), operator_country=("FR", False),
        processing_locations=(("EU",), False), parent_jurisdiction=(None, False),
        foreign_access_laws=((), False), retention=("30 rolling days for abuse monitoring", False),
        zero_data_retention=(False, False), trains_on_customer_data=(False, False),
        dpf_certified=_not_us(DPF_LIST), self_hosted=(False, True),
    ),
    _entry(
        "scaleway", "Scaleway Generative APIs", _SCALEWAY,
        "States it is not subject to extraterritorial laws such as the US CLOUD Act.",
        operator_entity=("Scaleway SAS", True), operator_country=("FR", True),
        processing_locations=(("FR",), True), parent_jurisdiction=("FR", True),
        foreign_access_laws=((), True),
        retention=("zero data retention; up to 2 weeks only for failing or abusive requests", True),
        zero_data_retention=(True, True), trains_on_customer_data=(False, False),
        dpf_certified=_not_us(DPF_LIST), self_hosted=(False, True),
    ),
    _entry(
        "ovhcloud", "OVHcloud AI Endpoints", _OVH, "ZDR is contractual (AI Endpoints Special Conditions).",
        operator_entity=("OVH SAS", True), operator_country=("FR", True),
        processing_locations=(("FR",), False), parent_jurisdiction=("FR", False),
        foreign_access_laws=((), False), retention=("contractual zero data retention", False),
        zero_data_retention=(True, False), trains_on_customer_data=(False, False),
        dpf_certified=_not_us(DPF_LIST), self_hosted=(False, True),
    ),
    _entry(
        "ionos", "IONOS AI Model Hub", _IONOS, "",
        operator_entity=("IONOS SE", True), operator_country=("DE", True),
        processing_locations=(("DE",), True), parent_jurisdiction=("DE", False),
        foreign_access_laws=((), False), retention=("processed only to provide the service", True),
        zero_data_retention=(None, False), trains_on_customer_data=(False, True),
        dpf_certified=_not_us(DPF_LIST), self_hosted=(False, True),
    ),
    _entry(
        "stackit", "STACKIT AI Model Serving", _STACKIT, "Part of the Schwarz Group.",
        operator_entity=("STACKIT GmbH & Co. KG", False), operator_country=("DE", True),
        processing_locations=(("DE",), True), parent_jurisdiction=("DE", True),
        foreign_access_laws=((), False),
        retention=("no customer data collected or evaluated beyond billing data", True),
        zero_data_retention=(True, False), trains_on_customer_data=(False, False),
        dpf_certified=_not_us(DPF_LIST), self_hosted=(False, True),
    ),
    _entry(
        "nebius", "Nebius Token Factory / AI Studio", _NEBIUS,
        "US subsidiaries; sub-processors in US, IL, UK, RS.",
        operator_entity=("Nebius B.V.", True), operator_country=("NL", True),
        processing_locations=(("FI",), True), parent_jurisdiction=("NL", True),
        foreign_access_laws=(("US-CLOUD-Act",), False, US_ACCESS),
        retention=("may be stored for speculative decoding unless ZDR is enabled", True),
        zero_data_retention=(False, True), trains_on_customer_data=(None, False),
        dpf_certified=(True, True), self_hosted=(False, True),
    ),
    _entry(
        "together", "Together AI", _TOGETHER, "",
        operator_entity=("Together Computer Inc.", True), operator_country=("US", True),
        processing_locations=(("US",), True), parent_jurisdiction=("US", True),
        foreign_access_laws=(US_LAWS, False, US_ACCESS),
        retention=("inputs and outputs not stored by default", True),
        zero_data_retention=(True, True), trains_on_customer_data=(False, True),
        dpf_certified=(None, False, DPF_LIST), self_hosted=(False, True),
    ),
    _entry(
        "fireworks", "Fireworks AI", _FIREWORKS, "Responses API with store=True keeps data for 30 days.",
        operator_entity=("Fireworks AI, Inc.", False), operator_country=("US", True),
        processing_locations=(("US",), True), parent_jurisdiction=("US", True),
        foreign_access_laws=(US_LAWS, False, US_ACCESS),
        retention=("zero data retention by default for open models", True),
        zero_data_retention=(True, True), trains_on_customer_data=(False, False),
        dpf_certified=(None, False, DPF_LIST), self_hosted=(False, True),
    ),
    _entry(
        "openai", "OpenAI API (default region)", _OPENAI, "",
        operator_entity=("OpenAI OpCo, LLC", False), operator_country=("US", False),
        processing_locations=(("US",), False), parent_jurisdiction=("US", False),
        foreign_access_laws=(US_LAWS, False, US_ACCESS),
        retention=("up to 30 days for abuse monitoring unless zero retention is approved", False),
        zero_data_retention=(False, False), trains_on_customer_data=(False, False),
        dpf_certified=(None, False, DPF_LIST), self_hosted=(False, True),
    ),
    _entry(
        "openai-eu", "OpenAI API, EU data residency (eu.api.openai.com)", _OPENAI_EU,
        "Customer content stored and processed in-region; system data (account, billing) is not.",
        operator_entity=("OpenAI OpCo, LLC", False), operator_country=("US", True),
        processing_locations=(("EU",), True), parent_jurisdiction=("US", False),
        foreign_access_laws=(US_LAWS, False, US_ACCESS),
        retention=("customer content stored in the EU region", True),
        zero_data_retention=(False, False), trains_on_customer_data=(False, False),
        dpf_certified=(None, False, DPF_LIST), self_hosted=(False, True),
    ),
    _entry(
        "anthropic", "Anthropic API", _ANTHROPIC,
        "inference_geo defaults to 'global': processing location unknown unless you pin 'us'.",
        operator_entity=("Anthropic PBC", False), operator_country=("US", True),
        processing_locations=(None, False), parent_jurisdiction=("US", False),
        foreign_access_laws=(US_LAWS, False, US_ACCESS), retention=(None, False),
        zero_data_retention=(None, False), trains_on_customer_data=(False, False),
        dpf_certified=(None, False, DPF_LIST), self_hosted=(False, True),
    ),
)
# fmt: on
