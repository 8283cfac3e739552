# fieldkern from Julia with ccall: version, SIMD level, threads, and standard
# normals from the Philox generator checked against their exact moments.
# Mirrors examples/python/quickstart.py call for call (a test checks that).
#
# Not run by CI: no Julia runtime can be installed on the CI machines.
#
#     cargo build --release
#     julia examples/julia/quickstart.jl
include(joinpath(@__DIR__, "..", "..", "include", "FieldKern.jl"))
using .FieldKern

simd = FieldKern.fk_simd_info()
println("fieldkern ", unsafe_string(FieldKern.fk_version_string()), " SIMD ",
        unsafe_string(simd.level), " threads ", FieldKern.fk_get_num_threads())

n = "--quick" in ARGS ? 100_000 : 10_000_000
z = Vector{Float64}(undef, n)
t = @elapsed status = FieldKern.fk_rng_fill_normal_f64(UInt64(2026), UInt64(0), UInt64(0), z, n)
if status != FieldKern.FK_OK
    println("FAIL ", unsafe_string(FieldKern.fk_status_str(status)), " ",
            unsafe_string(FieldKern.fk_last_error()))
    exit(1)
end
mean = sum(z) / n
var = sum((z .- mean) .^ 2) / n
ok = abs(mean) < 5 / sqrt(n) && abs(var - 1) < 5 * sqrt(2 / n)
println("$n normals: mean $mean, variance $var, $(n / t * 1e-9) normals/ns")
println("physics checks: ", ok ? "ok" : "FAIL")
exit(ok ? 0 : 1)
