/*
 * A bare-metal RP2040 program for the emulated Pico's own tests (test/chip/baremetal.test.ts):
 * no SDK, no bootrom calls, so CI can build it with Debian's gcc-arm-none-eabi and run it without
 * anything fetched. It exercises what the bench wires: UART1 on GP4/GP5 (115200 8N1 from a
 * 125 MHz clk_peri), GP25, and the microsecond timer.
 *
 * On UART1: prints "ready\r\n", then echoes every byte it receives; these also act on the LED:
 *   'L' LED on, 'l' LED off, 't' toggle, and 'T' prints the timer in microseconds ("T123456\r\n").
 */
#include <stdint.h>

#define REG(addr) (*(volatile uint32_t *)(addr))
#define CLR(addr) REG((addr) + 0x3000) /* atomic clear alias */

#define RESETS_BASE 0x4000c000u
#define RESETS_RESET (RESETS_BASE + 0x0)
#define RESETS_DONE (RESETS_BASE + 0x8)
#define RESET_IO_BANK0 (1u << 5)
#define RESET_PADS_BANK0 (1u << 8)
#define RESET_TIMER (1u << 21)
#define RESET_UART1 (1u << 23)

#define IO_BANK0_BASE 0x40014000u
#define GPIO_CTRL(n) (IO_BANK0_BASE + 0x004 + 8u * (n))
#define FUNC_UART 2u
#define FUNC_SIO 5u

#define SIO_BASE 0xd0000000u
#define SIO_OUT_SET (SIO_BASE + 0x014)
#define SIO_OUT_CLR (SIO_BASE + 0x018)
#define SIO_OUT_XOR (SIO_BASE + 0x01c)
#define SIO_OE_SET (SIO_BASE + 0x024)

#define UART1_BASE 0x40038000u
#define UART_DR (UART1_BASE + 0x00)
#define UART_FR (UART1_BASE + 0x18)
#define UART_IBRD (UART1_BASE + 0x24)
#define UART_FBRD (UART1_BASE + 0x28)
#define UART_LCR_H (UART1_BASE + 0x2c)
#define UART_CR (UART1_BASE + 0x30)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)

#define TIMER_TIMERAWL 0x40054028u

#define LED 25u

static void putc1(char c) {
  while (REG(UART_FR) & FR_TXFF) {
  }
  REG(UART_DR) = (uint8_t)c;
}

static void puts1(const char *s) {
  while (*s) putc1(*s++);
}

static void putu(uint32_t v) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10u);
    v /= 10u;
  } while (v);
  while (n) putc1(digits[--n]);
}

int main(void) {
  uint32_t wanted = RESET_IO_BANK0 | RESET_PADS_BANK0 | RESET_TIMER | RESET_UART1;
  CLR(RESETS_RESET) = wanted;
  while ((REG(RESETS_DONE) & wanted) != wanted) {
  }
  REG(GPIO_CTRL(4)) = FUNC_UART;
  REG(GPIO_CTRL(5)) = FUNC_UART;
  REG(GPIO_CTRL(LED)) = FUNC_SIO;
  REG(SIO_OE_SET) = 1u << LED;
  REG(SIO_OUT_CLR) = 1u << LED;

  /* 125 MHz / (16 * 115200) = 67.817: integer 67, fraction 0.817 * 64 = 52 */
  REG(UART_IBRD) = 67;
  REG(UART_FBRD) = 52;
  REG(UART_LCR_H) = (3u << 5) | (1u << 4); /* 8 bits, FIFOs on */
  REG(UART_CR) = (1u << 9) | (1u << 8) | 1u; /* RXE, TXE, UARTEN */

  puts1("ready\r\n");
  for (;;) {
    if (REG(UART_FR) & FR_RXFE) continue;
    char c = (char)REG(UART_DR);
    if (c == 'L') REG(SIO_OUT_SET) = 1u << LED;
    else if (c == 'l') REG(SIO_OUT_CLR) = 1u << LED;
    else if (c == 't') REG(SIO_OUT_XOR) = 1u << LED;
    if (c == 'T') {
      putc1('T');
      putu(REG(TIMER_TIMERAWL));
      puts1("\r\n");
    } else {
      putc1(c);
    }
  }
}
