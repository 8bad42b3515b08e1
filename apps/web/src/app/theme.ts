/**
 * Dense admin screens: small controls, compact tables, system Japanese fonts (no web-font downloads).
 * Components used on few screens (MultiSelect, TagsInput, Switch, Textarea) get `size="xs"` where
 * used instead of here, so they stay out of the first download.
 */
import { Badge, Button, Checkbox, PasswordInput, Select, Table, TextInput, createTheme } from '@mantine/core';

export const theme = createTheme({
  primaryColor: 'indigo',
  primaryShade: 8,
  defaultRadius: 'sm',
  focusRing: 'auto',
  fontFamily:
    '"Noto Sans JP", "Noto Sans CJK JP", "Hiragino Kaku Gothic ProN", "Hiragino Sans", "Yu Gothic UI", Meiryo, system-ui, -apple-system, "Segoe UI", sans-serif',
  fontFamilyMonospace: '"Noto Sans Mono CJK JP", ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
  headings: { fontWeight: '700', sizes: { h1: { fontSize: '1.25rem' }, h2: { fontSize: '1.1rem' }, h3: { fontSize: '0.95rem' } } },
  components: {
    Table: Table.extend({ defaultProps: { fz: 'xs', verticalSpacing: 3, horizontalSpacing: 8, striped: true, highlightOnHover: true, withTableBorder: true, stickyHeader: true } }),
    TextInput: TextInput.extend({ defaultProps: { size: 'xs' } }),
    PasswordInput: PasswordInput.extend({ defaultProps: { size: 'xs' } }),
    Select: Select.extend({ defaultProps: { size: 'xs', allowDeselect: false, comboboxProps: { withinPortal: true } } }),
    Checkbox: Checkbox.extend({ defaultProps: { size: 'xs' } }),
    Button: Button.extend({ defaultProps: { size: 'xs' } }),
    Badge: Badge.extend({ defaultProps: { size: 'sm', radius: 'sm', tt: 'none' } }),
  },
});
