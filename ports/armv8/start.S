/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry of a compartment image: EL2 -> EL1 drop, one stack per CPU, .bss cleared, FP/SIMD
 * enabled (picolibc's string routines may use it), vector table installed, then C.
 *
 * x0 at entry is kept and passed to xcv_armv8_main: the DTB address when booted by -kernel,
 * or the context argument of PSCI CPU_ON.
 */
#define XCV_ARMV8_MAX_CPUS 2

    .section .text.boot, "ax"
    .global _start
    .type _start, %function
_start:
    mov     x19, x0                     /* boot argument */
    mrs     x20, CurrentEL
    lsr     x20, x20, #2
    and     x20, x20, #3                /* entry EL, recorded below once .bss is clear */
    cmp     x20, #2
    b.ne    1f

    /* EL2: AArch64 EL1, EL1 may use the physical counter, GIC system registers enabled. */
    mov     x1, #(1 << 31)              /* HCR_EL2.RW */
    msr     hcr_el2, x1
    mrs     x1, cnthctl_el2
    orr     x1, x1, #3                  /* EL1PCTEN | EL1PCEN */
    msr     cnthctl_el2, x1
    msr     cntvoff_el2, xzr
    mrs     x1, S3_4_C12_C9_5           /* ICC_SRE_EL2 */
    mov     x2, #0x9                    /* SRE | Enable (EL1 may use ICC_SRE_EL1) */
    orr     x1, x1, x2
    msr     S3_4_C12_C9_5, x1
    isb
    mov     x1, #0x0800                 /* SCTLR_EL1 RES1 bits are set by the MMU code */
    movk    x1, #0x30d0, lsl #16
    msr     sctlr_el1, x1
    mov     x1, #0x3c5                  /* EL1h, DAIF masked */
    msr     spsr_el2, x1
    adr     x1, 1f
    msr     elr_el2, x1
    eret

1:  /* EL1 */
    msr     daifset, #0xf
    mrs     x1, mpidr_el1
    and     x1, x1, #0xff               /* Aff0: CPU number on QEMU virt */
    cmp     x1, #XCV_ARMV8_MAX_CPUS
    b.hs    .Lpark
    ldr     x2, =__stack_top
    ldr     x3, =__stack_per_cpu
    msub    x2, x1, x3, x2              /* top - cpu * size */
    mov     sp, x2

    /* .bss: the linker script aligns both ends to 16 bytes. */
    ldr     x1, =__bss_start
    ldr     x2, =__bss_end
2:  cmp     x1, x2
    b.hs    3f
    stp     xzr, xzr, [x1], #16
    b       2b
3:
    ldr     x1, =xcv_armv8_entry_el
    str     w20, [x1]

    mov     x1, #(3 << 20)              /* CPACR_EL1.FPEN: no FP/SIMD trap */
    msr     cpacr_el1, x1
    ldr     x1, =xcv_armv8_vectors
    msr     vbar_el1, x1
    isb

    mov     x0, x19
    bl      xcv_armv8_cstart
.Lpark:
    wfi
    b       .Lpark
    .size _start, . - _start

/*
 * Vector table. Every entry saves x0-x30, ELR and SPSR in a 288-byte frame on the current
 * stack and calls xcv_armv8_exception(frame, kind). IRQs (kind 1, 5) return; the C handler
 * never returns for the others (it reports and exits).
 */
    .macro  VENTRY kind
    .balign 0x80
    sub     sp, sp, #288
    stp     x0, x1, [sp, #0]
    mov     x1, #\kind
    b       xcv_armv8_vector_common
    .endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global xcv_armv8_vectors
xcv_armv8_vectors:
    VENTRY  0   /* current EL, SP0: sync */
    VENTRY  1   /*                  IRQ  */
    VENTRY  2   /*                  FIQ  */
    VENTRY  3   /*                  SError */
    VENTRY  4   /* current EL, SPx: sync */
    VENTRY  5   /*                  IRQ  */
    VENTRY  6   /*                  FIQ  */
    VENTRY  7   /*                  SError */
    VENTRY  8   /* lower EL, AArch64 */
    VENTRY  9
    VENTRY  10
    VENTRY  11
    VENTRY  12  /* lower EL, AArch32 */
    VENTRY  13
    VENTRY  14
    VENTRY  15

xcv_armv8_vector_common:
    /* x0 and x1 were saved by the entry; x1 now holds the kind. */
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x30, x2, [sp, #240]
    str     x3, [sp, #256]
    mov     x0, sp
    bl      xcv_armv8_exception
    ldp     x30, x2, [sp, #240]
    ldr     x3, [sp, #256]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #288
    eret
