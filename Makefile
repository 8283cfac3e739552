# Convenience targets; the README's two commands are `make demo` and `make test`.
CC ?= cc
LIB := target/release

.PHONY: demo test bindings
demo:
	cargo build --release --lib
	$(CC) -O2 -std=c99 -Wall -Wextra -pedantic examples/c/quickstart.c -Iinclude \
	  -L$(LIB) -lfieldkern -Wl,-rpath,$(CURDIR)/$(LIB) -lm -o $(LIB)/quickstart
	$(LIB)/quickstart

test:
	cargo test

# After changing src/ffi/: regenerate the header and the Fortran/Python/Julia bindings.
bindings:
	FK_BLESS=1 cargo build --lib
	python3 tools/gen_bindings.py
