// Placeholder until the page lands.
import { Empty } from '../components/states';

export function SessionPage({ id }: { id: string }) {
    return <Empty>This page is not built yet ({id}).</Empty>;
}
