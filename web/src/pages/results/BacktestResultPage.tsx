// Scaffold: the page is being built (issue 12).
import { Title } from '@mantine/core';

export default function Page() {
  return <Title order={1}>Backtest result</Title>;
}
