/*
 * The USART transmit interrupt QEMU never raises (onenet-led; CONFIG_QEMU_STM32F4_USART_TX_KICK).
 *
 * QEMU 7.2's STM32 USART (hw/char/stm32f2xx_usart.c) hands each byte written to DR to its
 * character device at once and leaves TXE and TC set, but it asserts its IRQ line only for
 * RXNE. Zephyr's uart_stm32 driver in interrupt mode enables TCIE and waits for the interrupt
 * to fill the next bytes (Moddable's serial ISR then loops while TC is set until its ring is
 * empty and disables TCIE). Without this, transmission advances only when a byte is received.
 *
 * A timer pends the IRQ of every enabled USART whose CR1 asks for TXE or TC interrupts: on
 * the silicon the interrupt would be immediate, here it comes within one kick period.
 */
#include <soc.h>
#include <zephyr/arch/cpu.h>
#include <zephyr/devicetree.h>
#include <zephyr/init.h>
#include <zephyr/irq.h>
#include <zephyr/kernel.h>
#include <zephyr/sys/util.h>

#define USART_CR1_OFFSET 0x0C
#define USART_CR1_TX_IRQS (BIT(6) | BIT(7)) /* TCIE | TXEIE */

struct kicked_usart {
	uintptr_t base;
	unsigned int irq;
};

#define KICKED_USART(node) {DT_REG_ADDR(node), DT_IRQN(node)},

static const struct kicked_usart usarts[] = {
	/* USARTs list "st,stm32-uart" too: this covers every U(S)ART once. */
	DT_FOREACH_STATUS_OKAY(st_stm32_uart, KICKED_USART)
};

static void kick(struct k_timer *timer)
{
	ARG_UNUSED(timer);
	for (size_t i = 0; i < ARRAY_SIZE(usarts); i++) {
		if (sys_read32(usarts[i].base + USART_CR1_OFFSET) & USART_CR1_TX_IRQS) {
			NVIC_SetPendingIRQ((IRQn_Type)usarts[i].irq);
		}
	}
}

static K_TIMER_DEFINE(kick_timer, kick, NULL);

static int usart_tx_kick_init(void)
{
	if (ARRAY_SIZE(usarts) > 0) {
		k_timer_start(&kick_timer, K_USEC(CONFIG_QEMU_STM32F4_USART_TX_KICK_US),
			      K_USEC(CONFIG_QEMU_STM32F4_USART_TX_KICK_US));
	}
	return 0;
}

SYS_INIT(usart_tx_kick_init, APPLICATION, 0);
