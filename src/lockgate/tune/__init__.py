"""lockgate.tune: LoRA fine-tuning on the operator's data, with provenance.

dataset (validate, hash, split) -> checks (personal data) -> train (transformers + peft) ->
export (GGUF LoRA) -> lineage (register, pin, ML-BOM) -> evaluate (base vs tuned through a
gateway, with the eval machinery) -> record (the run's evidence).  ``pipeline`` runs them.
The heavy libraries (torch, transformers, peft) are imported only by ``train``.
"""
