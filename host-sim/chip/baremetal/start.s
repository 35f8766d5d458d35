/* Entry at the start of flash (0x10000000), where the emulated Pico starts: set the stack,
   zero .bss, run main. The bootrom and a boot2 stage are not needed by this program. */
    .syntax unified
    .cpu cortex-m0plus
    .thumb
    .section .entry, "ax"
    .global _start
    .thumb_func
_start:
    ldr r0, =__stack_top
    mov sp, r0
    ldr r1, =__bss_start
    ldr r2, =__bss_end
    movs r3, #0
1:  cmp r1, r2
    bhs 2f
    str r3, [r1]
    adds r1, #4
    b 1b
2:  bl main
3:  b 3b
