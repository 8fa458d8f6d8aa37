// Placeholder until the page lands.
import { Empty } from '../components/states';

export function TracePage({ id }: { id: string }) {
    return <Empty>This page is not built yet ({id}).</Empty>;
}
