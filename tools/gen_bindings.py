#!/usr/bin/env python3
"""Generate the Fortran, Python (ctypes) and Julia declarations of fieldkern
from the C header, so every language sees every function the header declares.

    python3 tools/gen_bindings.py           # rewrite include/fieldkern.f90,
                                            # include/fieldkern_ctypes.py,
                                            # include/FieldKern.jl
    python3 tools/gen_bindings.py --check   # exit 1 if any of them is stale

The header is cbindgen's output (include/fieldkern.h), whose shape is regular:
`#define FK_* value`, enums with explicit values, `typedef struct X {...} X;`,
and one declaration per function. Conventions the generator relies on:

* `T *name` / `const T *name` of a numeric T is an array (Fortran assumed-size
  `name(*)`, ctypes `POINTER(T)`, Julia `Ptr{T}`), except parameters whose
  name starts with `out_`, which are single values written by the callee
  (Fortran scalar by reference, `intent(out)`).
* `void *` and pointers to handles are opaque (`type(c_ptr)` / `c_void_p` /
  `Ptr{Cvoid}`); function-pointer typedefs are `type(c_funptr)`.
* `const char *` results are C strings (`type(c_ptr)` in Fortran; use
  `fk_c_string` from the module to convert).
Standard library only.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "include" / "fieldkern.h"
OUT_FORTRAN = ROOT / "include" / "fieldkern.f90"
OUT_PYTHON = ROOT / "include" / "fieldkern_ctypes.py"
OUT_JULIA = ROOT / "include" / "FieldKern.jl"

# C scalar type -> (Fortran kind declaration, ctypes name, Julia type)
SCALARS = {
    "int8_t": ("integer(c_int8_t)", "ctypes.c_int8", "Int8"),
    "uint8_t": ("integer(c_int8_t)", "ctypes.c_uint8", "UInt8"),
    "int16_t": ("integer(c_int16_t)", "ctypes.c_int16", "Int16"),
    "uint16_t": ("integer(c_int16_t)", "ctypes.c_uint16", "UInt16"),
    "int32_t": ("integer(c_int32_t)", "ctypes.c_int32", "Int32"),
    "uint32_t": ("integer(c_int32_t)", "ctypes.c_uint32", "UInt32"),
    "int64_t": ("integer(c_int64_t)", "ctypes.c_int64", "Int64"),
    "uint64_t": ("integer(c_int64_t)", "ctypes.c_uint64", "UInt64"),
    "size_t": ("integer(c_size_t)", "ctypes.c_size_t", "Csize_t"),
    "double": ("real(c_double)", "ctypes.c_double", "Cdouble"),
    "float": ("real(c_float)", "ctypes.c_float", "Cfloat"),
    "fk_status": ("integer(c_int32_t)", "ctypes.c_int32", "Int32"),
    "bool": ("logical(c_bool)", "ctypes.c_bool", "Bool"),
}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


class Header:
    def __init__(self, text):
        self.defines = []  # (name, value-literal)
        self.enums = []  # (enum name, [(NAME, int)])
        self.structs = []  # (name, [(ctype, field)])
        self.funptrs = set()  # typedef names of function pointers
        self.opaque = set()  # opaque struct typedefs (handles)
        self.functions = []  # (ret ctype, name, [(ctype, pname)])
        self.parse(text)

    def parse(self, text):
        for m in re.finditer(r"^#define\s+(FK_\w+)\s+(.+)$", text, flags=re.M):
            self.defines.append((m.group(1), m.group(2).strip()))
        body = strip_comments(text)
        body = re.sub(r"^\s*#.*$", "", body, flags=re.M)  # preprocessor lines
        body = re.sub(r'extern\s+"C"\s*\{', "", body)
        for m in re.finditer(r"enum\s+(\w+)[^{;]*\{([^}]*)\}\s*;", body):
            values = []
            for item in m.group(2).split(","):
                item = item.strip()
                if item:
                    name, value = (s.strip() for s in item.split("="))
                    values.append((name, int(value, 0)))
            self.enums.append((m.group(1), values))
        body = re.sub(r"enum\s+(\w+)[^{;]*\{([^}]*)\}\s*;", "", body)
        for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{([^}]*)\}\s*\w+\s*;", body):
            fields = []
            for decl in m.group(2).split(";"):
                decl = " ".join(decl.split())
                if decl:
                    ctype, name = split_decl(decl)
                    fields.append((ctype, name))
            self.structs.append((m.group(1), fields))
        body = re.sub(r"typedef\s+struct\s+(\w+)\s*\{([^}]*)\}\s*\w+\s*;", "", body)
        for m in re.finditer(r"typedef\s+struct\s+(\w+)\s+\w+\s*;", body):
            self.opaque.add(m.group(1))
        body = re.sub(r"typedef\s+struct\s+(\w+)\s+\w+\s*;", "", body)
        for m in re.finditer(r"typedef\s+[^;]*\(\s*\*\s*(\w+)\s*\)\s*\([^;]*\)\s*;", body):
            self.funptrs.add(m.group(1))
        body = re.sub(r"typedef\s+[^;]*\(\s*\*\s*(\w+)\s*\)\s*\([^;]*\)\s*;", "", body)
        body = re.sub(r"typedef[^;]*;", "", body)
        for m in re.finditer(r"([\w\s\*]+?)\b(fk_\w+)\s*\(([^)]*)\)\s*;", body):
            ret = " ".join(m.group(1).split())
            params = []
            args = " ".join(m.group(3).split())
            if args and args != "void":
                for a in args.split(","):
                    params.append(split_decl(a.strip()))
            self.functions.append((ret, m.group(2), params))


def split_decl(decl):
    """'const double *x' -> ('const double *', 'x')"""
    m = re.match(r"(.*?)(\w+)$", decl.strip())
    ctype = " ".join(m.group(1).replace("*", " * ").split())
    return ctype, m.group(2)


def base_type(ctype):
    t = ctype.replace("const", "").replace("struct", "").replace("*", "")
    return " ".join(t.split())


def pointer_depth(ctype):
    return ctype.count("*")


def classify(h, ctype):
    """The kind of a C type, as every language's table below knows it."""
    base, depth = base_type(ctype), pointer_depth(ctype)
    if ctype == "void":
        kind = "void"
    elif depth == 0:
        kind = "scalar" if base in SCALARS else "funptr" if base in h.funptrs else "struct"
    elif depth == 1 and base == "char":
        kind = "cstring"
    elif depth == 1 and base in SCALARS:
        kind = "scalar_ptr"
    elif depth == 1 and any(base == name for name, _ in h.structs):
        kind = "struct_ptr"
    elif depth == 2:
        kind = "pointer_out"
    else:
        kind = "opaque_ptr"
    return kind, base


def render(h, ctype, table, column):
    """Format a C type with one language's table (column: index into SCALARS)."""
    kind, base = classify(h, ctype)
    scalar = SCALARS[base][column] if base in SCALARS else None
    return table[kind].format(s=scalar, b=base)


# ---------------------------------------------------------------- Fortran


def fortran_param(h, ctype, name):
    base, depth = base_type(ctype), pointer_depth(ctype)
    intent = "intent(in)" if ctype.startswith("const") else "intent(inout)"
    if depth == 0:
        if base in SCALARS:
            return f"{SCALARS[base][0]}, value :: {name}"
        if base in h.funptrs:
            return f"type(c_funptr), value :: {name}"
        return f"type({base}), value :: {name}"
    if depth == 1 and base in SCALARS:
        if name.startswith("out_"):
            return f"{SCALARS[base][0]}, intent(out) :: {name}"
        return f"{SCALARS[base][0]}, {intent} :: {name}(*)"
    if depth == 1 and any(base == s for s, _ in h.structs):
        return f"type({base}), {intent} :: {name}"
    if depth == 1 and base == "char":
        return f"character(kind=c_char), intent(in) :: {name}(*)"
    if depth == 2 and name.startswith("out"):
        return f"type(c_ptr), intent(out) :: {name}"
    return f"type(c_ptr), value :: {name}"


def fortran_result(h, ctype):
    base, depth = base_type(ctype), pointer_depth(ctype)
    if ctype == "void":
        return None
    if depth == 0 and base in SCALARS:
        return SCALARS[base][0]
    if depth == 0:
        return f"type({base})"
    return "type(c_ptr)"


def wrap_fortran(line, indent):
    """Break a free-form line at 100 columns with '&' continuations."""
    out, cur = [], indent + line
    while len(cur) > 100:
        cut = cur.rfind(", ", 0, 96)
        if cut < 0:
            break
        out.append(cur[: cut + 1] + " &")
        cur = indent + "    " + cur[cut + 2:]
    out.append(cur)
    return out


def gen_fortran(h):
    L = [
        "! Generated by tools/gen_bindings.py from include/fieldkern.h. Do not edit.",
        "! Fortran 2008 interfaces (iso_c_binding) for every function of the C header.",
        "! Arrays are assumed-size; `out_*` arguments are scalars written by the library.",
        "module fieldkern",
        "  use, intrinsic :: iso_c_binding",
        "  implicit none",
        "",
    ]
    functions = {f.lower() for _, f, _ in h.functions}
    for name, value in h.defines:
        if name.lower() in functions:  # Fortran names are case-insensitive
            name += "_VALUE"
        if value.startswith('"'):
            L.append(f"  character(len=*), parameter :: {name} = {value}")
        else:
            L.append(f"  integer(c_int32_t), parameter :: {name} = {value}")
    for ename, values in h.enums:
        L.append(f"  ! enum {ename}")
        for n, v in values:
            L.append(f"  integer(c_int32_t), parameter :: {n} = {v}")
    for sname, fields in h.structs:
        L.append("")
        L.append(f"  type, bind(C) :: {sname}")
        for ctype, fname in fields:
            base, depth = base_type(ctype), pointer_depth(ctype)
            if depth == 0 and base in SCALARS:
                L.append(f"    {SCALARS[base][0]} :: {fname}")
            elif depth == 0 and base in h.funptrs:
                L.append(f"    type(c_funptr) :: {fname}")
            elif depth == 0:
                L.append(f"    type({base}) :: {fname}")
            else:
                L.append(f"    type(c_ptr) :: {fname}")
        L.append(f"  end type {sname}")
    L += ["", "  interface"]
    for ret, fname, params in h.functions:
        res = fortran_result(h, ret)
        args = ", ".join(p for _, p in params)
        kind = "subroutine" if res is None else "function"
        L.append("")
        L += wrap_fortran(f"{kind} {fname}({args}) bind(C, name=\"{fname}\")", "    ")
        L.append("      import")
        L.append("      implicit none")
        if res is not None:
            L.append(f"      {res} :: {fname}")
        for ctype, pname in params:
            L += wrap_fortran(fortran_param(h, ctype, pname), "      ")
        L.append(f"    end {kind} {fname}")
    L += [
        "  end interface",
        "",
        "contains",
        "",
        "  !> Copies a NUL-terminated C string (fk_last_error(), fk_status_str(), ...)",
        "  !> into a Fortran string.",
        "  function fk_c_string(ptr) result(str)",
        "    type(c_ptr), intent(in) :: ptr",
        "    character(len=:), allocatable :: str",
        "    character(kind=c_char), pointer :: chars(:)",
        "    integer :: n",
        "    interface",
        "      function c_strlen(s) bind(C, name=\"strlen\")",
        "        import :: c_ptr, c_size_t",
        "        type(c_ptr), value :: s",
        "        integer(c_size_t) :: c_strlen",
        "      end function c_strlen",
        "    end interface",
        "    if (.not. c_associated(ptr)) then",
        "      str = ''",
        "      return",
        "    end if",
        "    n = int(c_strlen(ptr))",
        "    call c_f_pointer(ptr, chars, [n])",
        "    allocate(character(len=n) :: str)",
        "    str = transfer(chars(1:n), str)",
        "  end function fk_c_string",
        "",
        "end module fieldkern",
    ]
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------- Python


CTYPES = {
    "void": "None",
    "scalar": "{s}",
    "funptr": "ctypes.c_void_p",
    "struct": "{b}",
    "cstring": "ctypes.c_char_p",
    "scalar_ptr": "ctypes.POINTER({s})",
    "struct_ptr": "ctypes.POINTER({b})",
    "pointer_out": "ctypes.POINTER(ctypes.c_void_p)",
    "opaque_ptr": "ctypes.c_void_p",
}


def ctypes_type(h, ctype):
    return render(h, ctype, CTYPES, 1)


def gen_python(h):
    L = [
        '"""ctypes declarations of every function in include/fieldkern.h.',
        "",
        "Generated by tools/gen_bindings.py. Do not edit. Standard library only.",
        "",
        "    import fieldkern_ctypes as fk",
        "    lib = fk.load()          # FIELDKERN_LIB or target/release/libfieldkern.so",
        "    lib.fk_version()",
        '"""',
        "",
        "import ctypes",
        "import os",
        "",
    ]
    for name, value in h.defines:
        L.append(f"{name} = {value}")
    for ename, values in h.enums:
        L.append(f"# enum {ename}")
        for n, v in values:
            L.append(f"{n} = {v}")
    for sname, fields in h.structs:
        L += ["", "", f"class {sname}(ctypes.Structure):", "    _fields_ = ["]
        for ctype, fname in fields:
            L.append(f"        ({fname!r}, {ctypes_type(h, ctype)}),")
        L.append("    ]")
    L += ["", "", "SIGNATURES = {"]
    for ret, fname, params in h.functions:
        args = ", ".join(ctypes_type(h, c) for c, _ in params)
        L.append(f"    {fname!r}: ({ctypes_type(h, ret)}, [{args}]),")
    L += [
        "}",
        "",
        "",
        "def default_library_path():",
        '    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))',
        '    return os.environ.get("FIELDKERN_LIB", os.path.join(root, "target", "release", "libfieldkern.so"))',
        "",
        "",
        "def load(path=None):",
        '    """Open the shared library and declare every function\'s signature."""',
        "    lib = ctypes.CDLL(path or default_library_path())",
        "    for name, (restype, argtypes) in SIGNATURES.items():",
        "        fn = getattr(lib, name)",
        "        fn.restype = restype",
        "        fn.argtypes = argtypes",
        "    return lib",
    ]
    return "\n".join(L) + "\n"


# ---------------------------------------------------------------- Julia


JULIA = {
    "void": "Cvoid",
    "scalar": "{s}",
    "funptr": "Ptr{{Cvoid}}",
    "struct": "{b}",
    "cstring": "Cstring",
    "scalar_ptr": "Ptr{{{s}}}",
    "struct_ptr": "Ref{{{b}}}",
    "pointer_out": "Ptr{{Ptr{{Cvoid}}}}",
    "opaque_ptr": "Ptr{{Cvoid}}",
}


def julia_type(h, ctype):
    return render(h, ctype, JULIA, 2)


def gen_julia(h):
    L = [
        "# Julia declarations (ccall) of every function in include/fieldkern.h.",
        "# Generated by tools/gen_bindings.py. Do not edit.",
        "# No Julia runtime is installed on CI machines: this file is generated and",
        "# checked for drift, but not executed by the test suite.",
        "module FieldKern",
        "",
        'const libfieldkern = get(ENV, "FIELDKERN_LIB",',
        '    joinpath(@__DIR__, "..", "target", "release", "libfieldkern.so"))',
        "",
    ]
    for name, value in h.defines:
        L.append(f"const {name} = {value}")
    for ename, values in h.enums:
        L.append(f"# enum {ename}")
        for n, v in values:
            L.append(f"const {n} = Int32({v})")
    for sname, fields in h.structs:
        L += ["", f"struct {sname}"]
        for ctype, fname in fields:
            L.append(f"    {fname}::{julia_type(h, ctype).replace('Cstring', 'Ptr{UInt8}')}")
        L.append("end")
    for ret, fname, params in h.functions:
        names = ", ".join(p for _, p in params)
        types = "".join(f"{julia_type(h, c)}, " for c, _ in params)
        call_args = "".join(f", {p}" for _, p in params)
        L += [
            "",
            f"{fname}({names}) =",
            f"    ccall((:{fname}, libfieldkern), {julia_type(h, ret)}, ({types}){call_args})",
        ]
    L += ["", "end # module"]
    return "\n".join(L) + "\n"


def main():
    h = Header(HEADER.read_text())
    if not h.functions:
        sys.exit("gen_bindings: no functions found in include/fieldkern.h")
    outputs = {OUT_FORTRAN: gen_fortran(h), OUT_PYTHON: gen_python(h), OUT_JULIA: gen_julia(h)}
    if "--check" in sys.argv:
        stale = [str(p.relative_to(ROOT)) for p, text in outputs.items()
                 if not p.exists() or p.read_text() != text]
        if stale:
            print("stale generated bindings: " + ", ".join(stale))
            print("regenerate with: python3 tools/gen_bindings.py")
            sys.exit(1)
        print(f"bindings up to date ({len(h.functions)} functions)")
        return
    for p, text in outputs.items():
        p.write_text(text)
    print(f"wrote {len(outputs)} binding files for {len(h.functions)} functions")


if __name__ == "__main__":
    main()
