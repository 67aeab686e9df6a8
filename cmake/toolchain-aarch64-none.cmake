# Bare-metal AArch64 (EL1, Cortex-A53 class) with Debian's aarch64-linux-gnu cross gcc.
#
#   cmake --preset aarch64        (or -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-none.cmake)
#
# Debian's cross gcc targets Linux and builds PIE by default: the flags below turn that off and
# keep the code free of FP/SIMD registers and unaligned accesses (the MMU may still be off).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(XCV_CROSS_PREFIX aarch64-linux-gnu- CACHE STRING "Cross tool prefix")
set(CMAKE_C_COMPILER ${XCV_CROSS_PREFIX}gcc)
set(CMAKE_ASM_COMPILER ${XCV_CROSS_PREFIX}gcc)
set(CMAKE_AR ${XCV_CROSS_PREFIX}ar CACHE FILEPATH "Archiver")
set(CMAKE_RANLIB ${XCV_CROSS_PREFIX}ranlib CACHE FILEPATH "Ranlib")
set(CMAKE_OBJCOPY ${XCV_CROSS_PREFIX}objcopy CACHE FILEPATH "objcopy")
set(CMAKE_SIZE ${XCV_CROSS_PREFIX}size CACHE FILEPATH "size")

# No hosted libc to link a test executable against during compiler checks.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

string(JOIN " " CMAKE_C_FLAGS_INIT
    -mcpu=cortex-a53 -ffreestanding -fno-pie -fno-stack-protector
    -mstrict-align -mgeneral-regs-only)
set(CMAKE_ASM_FLAGS_INIT "-mcpu=cortex-a53 -fno-pie")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostdlib -nostartfiles -static -no-pie")

# picolibc (Debian package picolibc-aarch64-linux-gnu) supplies libc.a (mem*/str*) for
# bare-metal images; find_library()/find_path() look there, never in the host's directories.
set(XCV_PICOLIBC_DIR /usr/lib/picolibc/aarch64-linux-gnu CACHE PATH "picolibc of the target")
set(CMAKE_FIND_ROOT_PATH ${XCV_PICOLIBC_DIR})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Running bare-metal test images under QEMU (ports/armv8): add_test(COMMAND <image> ...) runs
# the image on CPU0; QEMU's exit status (semihosting SYS_EXIT) is the test result.
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-system-aarch64;-M;virt,gic-version=3;-cpu;cortex-a53;-smp;2;-m;128M;-nographic;
    -nic;none;-semihosting;-kernel)
