"""Which pickle globals are dangerous, which are known-safe rebuild helpers, and which are unknown."""

from __future__ import annotations

from enum import StrEnum

ALL = "*"


class Verdict(StrEnum):
    SAFE = "safe"
    UNKNOWN = "unknown"
    DANGEROUS = "dangerous"


_BUILTIN_DANGEROUS = frozenset(
    {
        "eval", "exec", "execfile", "compile", "__import__", "getattr", "setattr", "delattr",
        "open", "input", "breakpoint", "globals", "locals", "vars", "apply", "help", "exit", "quit",
    }
)  # fmt: skip

# module -> names, or ALL for every name in the module and its submodules.
DANGEROUS: dict[str, frozenset[str] | str] = {
    "builtins": _BUILTIN_DANGEROUS,
    "__builtin__": _BUILTIN_DANGEROUS,
    "os": ALL, "posix": ALL, "nt": ALL, "subprocess": ALL, "sys": ALL, "socket": ALL,
    "shutil": ALL, "runpy": ALL, "importlib": ALL, "webbrowser": ALL, "pty": ALL, "ctypes": ALL,
    "pickle": ALL, "_pickle": ALL, "marshal": ALL, "code": ALL, "codeop": ALL, "pdb": ALL,
    "bdb": ALL, "asyncio": ALL, "multiprocessing": ALL, "signal": ALL, "ssl": ALL,
    "urllib": ALL, "http": ALL, "httplib": ALL, "requests": ALL, "aiohttp": ALL, "ftplib": ALL,
    "smtplib": ALL, "telnetlib": ALL, "pydoc": ALL, "timeit": ALL, "cProfile": ALL,
    "profile": ALL, "trace": ALL, "zipimport": ALL, "pip": ALL, "ensurepip": ALL, "venv": ALL,
    "setuptools": ALL, "distutils": ALL, "dill": ALL, "cloudpickle": ALL, "joblib": ALL,
    "commands": ALL, "_posixsubprocess": ALL, "tempfile": ALL, "glob": ALL, "_io": ALL, "io": ALL,
    "imp": ALL, "_imp": ALL, "threading": ALL, "_thread": ALL, "uuid": ALL, "_osx_support": ALL,
    "_aix_support": ALL, "_pyrepl": ALL, "idlelib": ALL, "test": ALL,
    "pkgutil": frozenset({"resolve_name", "get_importer", "iter_importers", "find_loader"}),
    "types": frozenset({"CodeType", "FunctionType", "LambdaType", "MethodType", "ModuleType"}),
    "operator": frozenset({"attrgetter", "itemgetter", "methodcaller"}),
    "_operator": frozenset({"attrgetter", "itemgetter", "methodcaller"}),
    "functools": frozenset({"partial", "reduce"}),
    "logging": frozenset({"FileHandler", "config"}),
    "numpy": frozenset({"load", "fromfile", "loadtxt", "genfromtxt"}),
    "numpy.f2py": ALL,
    "numpy.testing": ALL,
    "torch": frozenset({"load", "hub"}),
    "torch.serialization": frozenset({"load"}),
    "torch.storage": frozenset({"_load_from_bytes"}),
    "torch.hub": ALL,
    "torch.jit": ALL,
    "torch._inductor": ALL,
    "torch._dynamo": ALL,
}  # fmt: skip

_TORCH_STORAGES = frozenset(
    f"{kind}Storage"
    for kind in (
        "Long", "Float", "Half", "Double", "BFloat16", "Bool", "Char", "Short", "Int", "Byte",
        "ComplexFloat", "ComplexDouble", "QInt8", "QInt32", "QUInt8", "QUInt4x2", "QUInt2x4", "Untyped",
    )
)  # fmt: skip

_CONTAINERS = frozenset(
    {"set", "frozenset", "list", "dict", "tuple", "int", "float", "complex", "bytes", "bytearray",
     "str", "bool", "slice", "range", "object"}
)  # fmt: skip

SAFE: dict[str, frozenset[str]] = {
    "collections": frozenset({"OrderedDict", "defaultdict", "deque", "Counter"}),
    "builtins": _CONTAINERS,
    "__builtin__": _CONTAINERS,
    "copyreg": frozenset({"_reconstructor"}),
    "copy_reg": frozenset({"_reconstructor"}),
    "_codecs": frozenset({"encode"}),
    "torch": _TORCH_STORAGES | frozenset({"Size", "device", "dtype", "float32", "float16", "bfloat16"}),
    "torch._utils": frozenset(
        {"_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
         "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_sparse_tensor",
         "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass", "_rebuild_device_tensor_from_numpy"}
    ),
    "torch.nn.parameter": frozenset({"Parameter"}),
    "numpy": frozenset({"dtype", "ndarray"}),
    "numpy.core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy._core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "datetime": frozenset({"datetime", "date", "time", "timedelta", "timezone"}),
    "decimal": frozenset({"Decimal"}),
    "fractions": frozenset({"Fraction"}),
}  # fmt: skip


def _module_rule(module: str) -> frozenset[str] | str | None:
    """The dangerous-name rule for a module, inheriting ALL from any parent package."""
    parts = module.split(".")
    for end in range(1, len(parts) + 1):
        rule = DANGEROUS.get(".".join(parts[:end]))
        if rule == ALL:
            return ALL
    return DANGEROUS.get(module)


def classify(module: str, name: str) -> Verdict:
    """Classify one imported global. Dotted names are judged by their first component."""
    rule = _module_rule(module)
    head = name.split(".", 1)[0]
    if rule == ALL or (isinstance(rule, frozenset) and (name in rule or head in rule)):
        return Verdict.DANGEROUS
    if name in SAFE.get(module, frozenset()):
        return Verdict.SAFE
    return Verdict.UNKNOWN
