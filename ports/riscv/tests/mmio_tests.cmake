# virtio-mmio driver tests (M-mode, -bios none): one compartment image on hart 0 drives QEMU's
# own virtio-mmio devices through the library's virtio-mmio transport, each in legacy (version
# 1, QEMU's default) and modern (version 2, -global virtio-mmio.force-legacy=false) mode; the
# rng test also interrupt-driven through the PLIC (in M-mode, and in S-mode under OpenSBI).
# Included by ports/riscv/CMakeLists.txt.
# The disk image of the blk test is made and checked by the host-side helper of the ARMv8
# tests (same disk layout).
set(_mmio_common ${_t}/mmio_common.c ${PROJECT_SOURCE_DIR}/ports/common/mmio/mmio_shared.c)
set(_mmio_src ${PROJECT_SOURCE_DIR}/ports/common/mmio) # test bodies shared by the ports
set(_mmio_disk_py ${_mmio_src}/mmio_disk.py)
find_package(Python3 COMPONENTS Interpreter)

foreach(_mode legacy modern)
  if(_mode STREQUAL "modern")
    set(_ver 2)
    set(_qemu -global virtio-mmio.force-legacy=false)
  else()
    set(_ver 1)
    set(_qemu "")
  endif()
  set(_p riscv_mmio)
  xcv_riscv_image(${_p}_rng_${_mode} ${_m_dev} SOURCES ${_mmio_src}/mmio_rng.c ${_mmio_common}
                  DEFINES MMIO_EXPECT_VERSION=${_ver})
  xcv_riscv_image(${_p}_rng_irq_${_mode} ${_m_dev} SOURCES ${_mmio_src}/mmio_rng.c ${_mmio_common}
                  DEFINES MMIO_EXPECT_VERSION=${_ver} MMIO_USE_IRQ=1)
  # S-mode under OpenSBI: the same rng test, interrupt-driven through the hart's S context.
  xcv_riscv_image(${_p}_rng_irq_smode_${_mode} ${_s_dev}
                  SOURCES ${_mmio_src}/mmio_rng.c ${_mmio_common}
                  DEFINES MMIO_EXPECT_VERSION=${_ver} MMIO_USE_IRQ=1)
  xcv_riscv_image(${_p}_blk_${_mode} ${_m_dev} SOURCES ${_mmio_src}/mmio_blk.c ${_mmio_common}
                  DEFINES MMIO_EXPECT_VERSION=${_ver})
  xcv_riscv_image(${_p}_net_${_mode} ${_m_dev} SOURCES ${_mmio_src}/mmio_net.c ${_mmio_common}
                  DEFINES MMIO_EXPECT_VERSION=${_ver})

  if(NOT COMMAND xcv_riscv_test)
    continue()
  endif()
  xcv_riscv_test(${_p}_rng_${_mode} ${_p}_rng_${_mode}
                 QEMU_ARGS ${_qemu} -device virtio-rng-device)
  xcv_riscv_test(${_p}_rng_irq_${_mode} ${_p}_rng_irq_${_mode}
                 QEMU_ARGS ${_qemu} -device virtio-rng-device)
  xcv_riscv_test(${_p}_rng_irq_smode_${_mode} ${_p}_rng_irq_smode_${_mode}
                 QEMU_ARGS ${_qemu} -device virtio-rng-device -bios default)
  # virtio-net against QEMU's user-mode network: the MAC from config space, an ARP request
  # for the gateway sent, its reply received.
  xcv_riscv_test(${_p}_net_${_mode} ${_p}_net_${_mode}
                 QEMU_ARGS ${_qemu} -netdev user,id=n0
                 -device virtio-net-device,netdev=n0,mac=52:54:00:12:34:56)

  # virtio-blk on a raw disk image made fresh before each run (known pattern per sector);
  # the image is checked afterwards for the sector the test wrote.
  if(NOT Python3_Interpreter_FOUND)
    message(STATUS "python3 not found: ${_p}_blk_${_mode} is not registered")
    continue()
  endif()
  set(_disk ${CMAKE_CURRENT_BINARY_DIR}/${_p}_blk_${_mode}.img)
  set(_tool ${Python3_EXECUTABLE} ${_mmio_disk_py})
  add_test(NAME ${_p}_blk_${_mode}_disk COMMAND ${_tool} make ${_disk})
  add_test(NAME ${_p}_blk_${_mode}_check COMMAND ${_tool} check ${_disk})
  xcv_riscv_test(${_p}_blk_${_mode} ${_p}_blk_${_mode}
                 QEMU_ARGS ${_qemu} -drive file=${_disk},if=none,format=raw,id=d0
                 -device virtio-blk-device,drive=d0,serial=xcvdisk0)
  set_tests_properties(${_p}_blk_${_mode}_disk PROPERTIES
                       LABELS qemu-riscv TIMEOUT 30 FIXTURES_SETUP ${_p}_blk_${_mode})
  set_tests_properties(${_p}_blk_${_mode}_check PROPERTIES
                       LABELS qemu-riscv TIMEOUT 30 FIXTURES_CLEANUP ${_p}_blk_${_mode})
  set_tests_properties(${_p}_blk_${_mode} PROPERTIES FIXTURES_REQUIRED ${_p}_blk_${_mode})
endforeach()
