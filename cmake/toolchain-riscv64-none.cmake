# Bare-metal RV64 (M-mode or S-mode under OpenSBI) with Debian's riscv64-unknown-elf gcc.
#
#   cmake --preset riscv          (or -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-riscv64-none.cmake)
#
# -misa-spec=2.2 keeps zicsr/zifencei inside rv64imac, which selects the right multilib
# (rv64imac_zicsr would pull the wrong one). -mcmodel=medany: the image lives at 0x80000000+.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv64)

set(XCV_CROSS_PREFIX riscv64-unknown-elf- CACHE STRING "Cross tool prefix")
set(CMAKE_C_COMPILER ${XCV_CROSS_PREFIX}gcc)
set(CMAKE_ASM_COMPILER ${XCV_CROSS_PREFIX}gcc)
set(CMAKE_AR ${XCV_CROSS_PREFIX}ar CACHE FILEPATH "Archiver")
set(CMAKE_RANLIB ${XCV_CROSS_PREFIX}ranlib CACHE FILEPATH "Ranlib")
set(CMAKE_OBJCOPY ${XCV_CROSS_PREFIX}objcopy CACHE FILEPATH "objcopy")
set(CMAKE_SIZE ${XCV_CROSS_PREFIX}size CACHE FILEPATH "size")

set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

string(JOIN " " CMAKE_C_FLAGS_INIT
    -misa-spec=2.2 -march=rv64imac -mabi=lp64 -mcmodel=medany -ffreestanding -fno-stack-protector)
set(CMAKE_ASM_FLAGS_INIT "-misa-spec=2.2 -march=rv64imac -mabi=lp64 -mcmodel=medany")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostdlib -nostartfiles -static")

# picolibc (Debian package picolibc-riscv64-unknown-elf) supplies libc.a (mem*/str*) for
# bare-metal images; find_library()/find_path() look there, never in the host's directories.
set(XCV_PICOLIBC_DIR /usr/lib/picolibc/riscv64-unknown-elf CACHE PATH "picolibc of the target")
set(CMAKE_FIND_ROOT_PATH ${XCV_PICOLIBC_DIR})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Running bare-metal test images under QEMU (ports/riscv): add_test(COMMAND <image> ...) runs
# the image in M-mode on every hart; QEMU's exit status (SiFive test device) is the test result.
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-system-riscv64;-M;virt;-smp;2;-bios;none;-nographic;-nic;none;-kernel)
