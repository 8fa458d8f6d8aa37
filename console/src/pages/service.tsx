// Placeholder until the page lands.
import { Empty } from '../components/states';

export function ServicePage({ name }: { name: string }) {
    return <Empty>This page is not built yet ({name}).</Empty>;
}
