! fieldkern from Fortran 2008: version, SIMD level, threads, and standard
! normals from the Philox generator checked against their exact moments.
!
!   cargo build --release
!   gfortran -O2 include/fieldkern.f90 examples/fortran/quickstart.f90 \
!       -Ltarget/release -lfieldkern -Wl,-rpath,$PWD/target/release -o quickstart
!   ./quickstart            (--quick: 10^5 numbers)
program quickstart
  use, intrinsic :: iso_c_binding
  use fieldkern
  implicit none
  integer(c_size_t) :: n
  integer(c_int32_t) :: status
  real(c_double), allocatable :: z(:)
  real(c_double) :: mean, var
  character(len=16) :: arg
  type(fk_simd_capabilities) :: simd

  n = 10000000_c_size_t
  if (command_argument_count() > 0) then
    call get_command_argument(1, arg)
    if (trim(arg) == "--quick") n = 100000_c_size_t
  end if
  simd = fk_simd_info()
  print '(a,a,a,a,a,i0)', "fieldkern ", fk_c_string(fk_version_string()), " SIMD ", &
      fk_c_string(simd%level), " threads ", fk_get_num_threads()

  allocate(z(n))
  status = fk_rng_fill_normal_f64(2026_c_int64_t, 0_c_int64_t, 0_c_int64_t, z, n)
  if (status /= FK_OK) then
    print '(a,a,a,a)', "FAIL ", fk_c_string(fk_status_str(status)), ": ", fk_c_string(fk_last_error())
    stop 1
  end if
  mean = sum(z) / n
  var = sum((z - mean)**2) / n
  print '(i0,a,f9.5,a,f8.5)', n, " normals: mean ", mean, ", variance ", var
  ! 5 standard errors: 1/sqrt(n) for the mean, sqrt(2/n) for the variance.
  if (abs(mean) < 5 / sqrt(real(n, c_double)) .and. abs(var - 1) < 5 * sqrt(2 / real(n, c_double))) then
    print '(a)', "physics checks: ok"
  else
    print '(a)', "FAIL physics checks"
    stop 1
  end if
end program quickstart
