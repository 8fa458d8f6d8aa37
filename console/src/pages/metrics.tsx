// Placeholder until the page lands.
import { Empty } from '../components/states';

export function MetricsPage() {
    return <Empty>This page is not built yet.</Empty>;
}
