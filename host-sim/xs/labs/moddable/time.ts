// Stand-in for Moddable's `time` module (bench only).
const Time = {
  ticks: 0,
  delta(from: number, to: number): number {
    return to - from;
  },
};
export default Time;
