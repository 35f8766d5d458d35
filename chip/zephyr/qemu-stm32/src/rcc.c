/*
 * RCC clock control for QEMU's STM32F405 (onenet-led; CONFIG_QEMU_STM32F4_RCC).
 *
 * QEMU 7.2 has no RCC model: every RCC register reads 0, so Zephyr's STM32 clock driver spins
 * forever waiting for HSE/PLL "ready". QEMU runs the core at the board's 168 MHz regardless of
 * RCC, so this driver sets nothing up: it takes the rates from the device tree (the same
 * figures the real driver programs) and sets/clears the same peripheral enable bits, which QEMU
 * logs and a real chip would honour.
 */
#define DT_DRV_COMPAT st_stm32f4_rcc

#include <soc.h>
#include <zephyr/arch/cpu.h>
#include <zephyr/device.h>
#include <zephyr/drivers/clock_control.h>
#include <zephyr/drivers/clock_control/stm32_clock_control.h>
#include <zephyr/sys/util.h>

#define RCC_BASE_ADDR DT_REG_ADDR(DT_NODELABEL(rcc))

static int qemu_rcc_on(const struct device *dev, clock_control_subsys_t sub_system)
{
	const struct stm32_pclken *pclken = (const struct stm32_pclken *)sub_system;

	ARG_UNUSED(dev);
	if (!IN_RANGE(pclken->bus, STM32_PERIPH_BUS_MIN, STM32_PERIPH_BUS_MAX)) {
		return -ENOTSUP;
	}
	sys_set_bits(RCC_BASE_ADDR + pclken->bus, pclken->enr);
	return 0;
}

static int qemu_rcc_off(const struct device *dev, clock_control_subsys_t sub_system)
{
	const struct stm32_pclken *pclken = (const struct stm32_pclken *)sub_system;

	ARG_UNUSED(dev);
	if (!IN_RANGE(pclken->bus, STM32_PERIPH_BUS_MIN, STM32_PERIPH_BUS_MAX)) {
		return -ENOTSUP;
	}
	sys_clear_bits(RCC_BASE_ADDR + pclken->bus, pclken->enr);
	return 0;
}

/* Domain clock selection (e.g. an RTC or I2S source): written like the real driver does. */
static int qemu_rcc_configure(const struct device *dev, clock_control_subsys_t sub_system, void *data)
{
	const struct stm32_pclken *pclken = (const struct stm32_pclken *)sub_system;

	ARG_UNUSED(dev);
	ARG_UNUSED(data);
	if (pclken->enr == NO_SEL) {
		return 0;
	}
	sys_clear_bits(RCC_BASE_ADDR + STM32_DT_CLKSEL_REG_GET(pclken->enr),
		       STM32_DT_CLKSEL_MASK_GET(pclken->enr) << STM32_DT_CLKSEL_SHIFT_GET(pclken->enr));
	sys_set_bits(RCC_BASE_ADDR + STM32_DT_CLKSEL_REG_GET(pclken->enr),
		     STM32_DT_CLKSEL_VAL_GET(pclken->enr) << STM32_DT_CLKSEL_SHIFT_GET(pclken->enr));
	return 0;
}

static int qemu_rcc_get_rate(const struct device *dev, clock_control_subsys_t sub_system, uint32_t *rate)
{
	const struct stm32_pclken *pclken = (const struct stm32_pclken *)sub_system;
	const uint32_t ahb = SystemCoreClock;

	ARG_UNUSED(dev);
	switch (pclken->bus) {
	case STM32_CLOCK_BUS_AHB1:
	case STM32_CLOCK_BUS_AHB2:
	case STM32_CLOCK_BUS_AHB3:
		*rate = ahb;
		return 0;
	case STM32_CLOCK_BUS_APB1:
		*rate = ahb / STM32_APB1_PRESCALER;
		return 0;
	case STM32_CLOCK_BUS_APB2:
		*rate = ahb / STM32_APB2_PRESCALER;
		return 0;
	case STM32_SRC_SYSCLK:
		*rate = SystemCoreClock * STM32_CORE_PRESCALER;
		return 0;
	default:
		return -ENOTSUP;
	}
}

static enum clock_control_status qemu_rcc_get_status(const struct device *dev, clock_control_subsys_t sub_system)
{
	const struct stm32_pclken *pclken = (const struct stm32_pclken *)sub_system;

	ARG_UNUSED(dev);
	if (!IN_RANGE(pclken->bus, STM32_PERIPH_BUS_MIN, STM32_PERIPH_BUS_MAX)) {
		/* A fixed source (HSE, PLL...): QEMU's core clock is always running. */
		return CLOCK_CONTROL_STATUS_ON;
	}
	return (sys_read32(RCC_BASE_ADDR + pclken->bus) & pclken->enr) == pclken->enr ? CLOCK_CONTROL_STATUS_ON
										      : CLOCK_CONTROL_STATUS_OFF;
}

static DEVICE_API(clock_control, qemu_rcc_api) = {
	.on = qemu_rcc_on,
	.off = qemu_rcc_off,
	.get_rate = qemu_rcc_get_rate,
	.get_status = qemu_rcc_get_status,
	.configure = qemu_rcc_configure,
};

static int qemu_rcc_init(const struct device *dev)
{
	ARG_UNUSED(dev);
	/* HCLK as the device tree sets it (the real driver programs the PLL to this). */
	SystemCoreClock = CONFIG_SYS_CLOCK_HW_CYCLES_PER_SEC;
	return 0;
}

DEVICE_DT_DEFINE(DT_NODELABEL(rcc), qemu_rcc_init, NULL, NULL, NULL, PRE_KERNEL_1,
		 CONFIG_CLOCK_CONTROL_INIT_PRIORITY, &qemu_rcc_api);
