"""Who publishes a checkpoint and where that publisher is seated (for the auditor's questions)."""

from __future__ import annotations

from lockgate.registry.checkpoints import Checkpoint

# Hugging Face organisation (lower case) -> (publisher, ISO country of its seat)
PUBLISHERS: dict[str, tuple[str, str]] = {
    "huggingfacetb": ("Hugging Face", "US"),
    "meta-llama": ("Meta Platforms", "US"),
    "qwen": ("Alibaba Cloud (Qwen)", "CN"),
    "deepseek-ai": ("DeepSeek", "CN"),
    "google": ("Google", "US"),
    "mistralai": ("Mistral AI", "FR"),
    "moonshotai": ("Moonshot AI", "CN"),
    "zai-org": ("Zhipu AI (Z.ai)", "CN"),
    "thudm": ("Zhipu AI (THUDM)", "CN"),
}


def publisher_of(organization: str | None, checkpoint: Checkpoint | None) -> tuple[str | None, str | None]:
    """Publisher and country from the checkpoint's repo organisation, else the file's own claim."""
    orgs = [r.split("/", 1)[0].lower() for r in (checkpoint.repos if checkpoint else ())]
    if organization:
        orgs.append(organization.lower())
    for org in orgs:
        if org in PUBLISHERS:
            return PUBLISHERS[org]
    return organization, None
