! Fortran 2008 test of the generated `fieldkern` module: version, thread
! control with bad input, and the Philox fills (known answer, moments,
! split invariance). Prints "N passed, N failed".
program test_rng
  use, intrinsic :: iso_c_binding
  use fieldkern
  implicit none
  integer, parameter :: n = 100000
  integer :: passed = 0, failed = 0
  integer(c_int32_t) :: status, words(4)
  real(c_double), allocatable :: z(:), a(:), b(:)
  real(c_double) :: mean, var
  type(fk_simd_capabilities) :: simd
  character(len=:), allocatable :: msg

  call check(fk_version() == FK_VERSION_NUMBER, "fk_version() == FK_VERSION_NUMBER")
  call check(fk_c_string(fk_version_string()) == FK_VERSION_STRING_VALUE, "version string")
  simd = fk_simd_info()
  call check(simd%f64_lanes >= 1, "simd lanes")
  print '(a,a)', "SIMD level: ", fk_c_string(simd%level)

  status = fk_set_num_threads(0_c_int32_t)
  call check(status == FK_ERR_OUT_OF_RANGE, "fk_set_num_threads(0) is FK_ERR_OUT_OF_RANGE")
  msg = fk_c_string(fk_last_error())
  call check(index(msg, "threads") > 0, "last error names the argument: " // msg)
  call check(fk_c_string(fk_status_str(status)) == "FK_ERR_OUT_OF_RANGE", "fk_status_str")
  call check(fk_set_num_threads(2_c_int32_t) == FK_OK, "fk_set_num_threads(2)")
  call check(fk_get_num_threads() == 2, "fk_get_num_threads() == 2")

  ! Random123 known answer: philox4x32_10(counter 0, key 0) word 0 = 0x6627e8d5.
  call check(fk_rng_fill_u32(0_c_int64_t, 0_c_int64_t, 0_c_int64_t, words, 4_c_size_t) == FK_OK, &
             "fill_u32")
  call check(words(1) == int(z'6627e8d5', c_int32_t), "Philox known answer")

  allocate(z(n), a(n), b(n))
  call check(fk_rng_fill_normal_f64(7_c_int64_t, 1_c_int64_t, 0_c_int64_t, z, int(n, c_size_t)) &
             == FK_OK, "fill_normal_f64")
  mean = sum(z) / n
  var = sum((z - mean)**2) / n
  ! Standard errors 1/sqrt(n) = 0.0032 (mean) and sqrt(2/n) = 0.0045 (variance); 5 each.
  call check(abs(mean) < 5 * 0.0032d0, "normal mean within 5 standard errors")
  call check(abs(var - 1) < 5 * 0.0045d0, "normal variance within 5 standard errors")

  call check(fk_rng_fill_uniform_f64(3_c_int64_t, 4_c_int64_t, 0_c_int64_t, a, int(n, c_size_t)) &
             == FK_OK, "fill_uniform_f64 whole")
  call check(fk_rng_fill_uniform_f64(3_c_int64_t, 4_c_int64_t, 0_c_int64_t, b, 777_c_size_t) &
             == FK_OK, "fill_uniform_f64 head")
  call check(fk_rng_fill_uniform_f64(3_c_int64_t, 4_c_int64_t, 777_c_int64_t, b(778:), &
             int(n - 777, c_size_t)) == FK_OK, "fill_uniform_f64 tail")
  call check(all(a == b), "split fill equals whole fill")
  call check(all(a > 0 .and. a < 1), "uniforms in (0,1)")

  print '(i0,a,i0,a)', passed, " passed, ", failed, " failed"
  if (failed /= 0) stop 1

contains

  subroutine check(ok, what)
    logical, intent(in) :: ok
    character(len=*), intent(in) :: what
    if (ok) then
      passed = passed + 1
    else
      failed = failed + 1
      print '(a,a)', "FAIL ", what
    end if
  end subroutine check

end program test_rng
