# virtio-mmio driver tests: one compartment image drives QEMU's own virtio-mmio devices through
# the library's virtio-mmio transport, each in legacy (version 1, QEMU's default) and modern
# (version 2, -global virtio-mmio.force-legacy=false) mode. Included by ports/armv8/CMakeLists.txt.
set(_mmio_common ${_t}/mmio_common.c ${PROJECT_SOURCE_DIR}/ports/common/mmio/mmio_shared.c)
set(_mmio_src ${PROJECT_SOURCE_DIR}/ports/common/mmio) # test bodies shared by the ports
find_package(Python3 COMPONENTS Interpreter)

foreach(_mode legacy modern)
  if(_mode STREQUAL "modern")
    set(_ver 2)
    set(_qemu -global virtio-mmio.force-legacy=false)
  else()
    set(_ver 1)
    set(_qemu "")
  endif()
  xcv_armv8_image(armv8_mmio_rng_${_mode} ${_dev_ram} SOURCES ${_mmio_src}/mmio_rng.c ${_mmio_common}
                  DEFINES MMIO_EXPECT_VERSION=${_ver})
  xcv_armv8_image(armv8_mmio_rng_irq_${_mode} ${_dev_ram}
                  SOURCES ${_mmio_src}/mmio_rng.c ${_mmio_common}
                  DEFINES MMIO_EXPECT_VERSION=${_ver} MMIO_USE_IRQ=1)
  xcv_armv8_image(armv8_mmio_blk_${_mode} ${_dev_ram} SOURCES ${_mmio_src}/mmio_blk.c ${_mmio_common}
                  DEFINES MMIO_EXPECT_VERSION=${_ver})
  xcv_armv8_image(armv8_mmio_net_${_mode} ${_dev_ram} SOURCES ${_mmio_src}/mmio_net.c ${_mmio_common}
                  DEFINES MMIO_EXPECT_VERSION=${_ver})

  if(NOT COMMAND xcv_armv8_test)
    continue()
  endif()
  xcv_armv8_test(armv8_mmio_rng_${_mode} armv8_mmio_rng_${_mode}
                 QEMU_ARGS ${_qemu} -device virtio-rng-device)
  xcv_armv8_test(armv8_mmio_rng_irq_${_mode} armv8_mmio_rng_irq_${_mode}
                 QEMU_ARGS ${_qemu} -device virtio-rng-device)
  # virtio-net against QEMU's user-mode network: the MAC from config space, an ARP request
  # for the gateway sent, its reply received.
  xcv_armv8_test(armv8_mmio_net_${_mode} armv8_mmio_net_${_mode}
                 QEMU_ARGS ${_qemu} -netdev user,id=n0
                 -device virtio-net-device,netdev=n0,mac=52:54:00:12:34:56)

  # virtio-blk on a raw disk image made fresh before each run (known pattern per sector);
  # the image is checked afterwards for the sector the test wrote.
  if(NOT Python3_Interpreter_FOUND)
    message(STATUS "python3 not found: armv8_mmio_blk_${_mode} is not registered")
    continue()
  endif()
  set(_disk ${CMAKE_CURRENT_BINARY_DIR}/mmio_blk_${_mode}.img)
  set(_tool ${Python3_EXECUTABLE} ${_mmio_src}/mmio_disk.py)
  add_test(NAME armv8_mmio_blk_${_mode}_disk COMMAND ${_tool} make ${_disk})
  add_test(NAME armv8_mmio_blk_${_mode}_check COMMAND ${_tool} check ${_disk})
  xcv_armv8_test(armv8_mmio_blk_${_mode} armv8_mmio_blk_${_mode}
                 QEMU_ARGS ${_qemu} -drive file=${_disk},if=none,format=raw,id=d0
                 -device virtio-blk-device,drive=d0,serial=xcvdisk0)
  set_tests_properties(armv8_mmio_blk_${_mode}_disk PROPERTIES
                       LABELS qemu-armv8 TIMEOUT 30 FIXTURES_SETUP mmio_blk_${_mode})
  set_tests_properties(armv8_mmio_blk_${_mode}_check PROPERTIES
                       LABELS qemu-armv8 TIMEOUT 30 FIXTURES_CLEANUP mmio_blk_${_mode})
  set_tests_properties(armv8_mmio_blk_${_mode} PROPERTIES FIXTURES_REQUIRED mmio_blk_${_mode})
endforeach()
