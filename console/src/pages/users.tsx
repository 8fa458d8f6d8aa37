// Placeholder until the page lands.
import { Empty } from '../components/states';

export function UsersPage() {
    return <Empty>This page is not built yet.</Empty>;
}
