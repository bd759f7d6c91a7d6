//! The shop example: `schemas/shop/v1/shop.yaml` generated at build time
//! (see build.rs) into the modules `types`, `spec`, `client` and `server`,
//! plus [`InMemoryShop`], a small implementation of the server trait.

include!(concat!(env!("OUT_DIR"), "/shop.rs"));

use std::collections::BTreeMap;
use std::sync::Mutex;

use contractor_runtime::Problem;
use contractor_runtime::chrono::Utc;
use contractor_runtime::uuid::Uuid;

use server::RequestContext;
use types::*;

/// Orders kept in memory, newest last.
#[derive(Default)]
pub struct InMemoryShop {
    orders: Mutex<BTreeMap<Uuid, Order>>,
    /// Stock per SKU; SKUs not listed are unlimited.
    stock: Mutex<BTreeMap<String, i64>>,
}

impl InMemoryShop {
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits the stock of `sku` (orders beyond it get a 409 `OutOfStock`).
    pub fn with_stock(self, sku: &str, quantity: i64) -> Self {
        if let Ok(mut stock) = self.stock.lock() {
            stock.insert(sku.to_string(), quantity);
        }
        self
    }

    pub fn order_count(&self) -> usize {
        self.orders.lock().map(|o| o.len()).unwrap_or(0)
    }

    fn unavailable() -> Problem {
        Problem::new(500).with_detail("the order store is unavailable")
    }
}

fn not_found(id: &Uuid) -> Problem {
    Problem::new(404).with_detail(format!("no order {id}"))
}

fn problem_body(problem: Problem) -> types::Problem {
    types::Problem {
        type_: Some(problem.type_.clone()),
        title: problem.title.clone(),
        status: problem.status.map(i32::from),
        detail: problem.detail.clone(),
        instance: problem.instance.clone(),
        correlation_id: None,
    }
}

impl server::Api for InMemoryShop {
    async fn list_orders(
        &self,
        _context: RequestContext,
        request: ListOrdersRequest,
    ) -> Result<OrderPage, ListOrdersError> {
        let orders = self
            .orders
            .lock()
            .map_err(|_| ListOrdersError::Other(Self::unavailable()))?;
        let limit = usize::try_from(request.limit.unwrap_or(20)).unwrap_or(20);
        let orders: Vec<Order> = orders
            .values()
            .rev()
            .filter(|o| request.status.as_ref().is_none_or(|s| *s == o.status))
            .take(limit)
            .cloned()
            .collect();
        Ok(OrderPage {
            orders,
            next_cursor: contractor_runtime::Nullable::Null,
        })
    }

    async fn create_order(
        &self,
        _context: RequestContext,
        request: CreateOrderRequest,
    ) -> Result<Order, CreateOrderError> {
        let order = request.body;
        {
            let mut stock = self
                .stock
                .lock()
                .map_err(|_| CreateOrderError::Other(Self::unavailable()))?;
            for item in &order.items {
                if let Some(left) = stock.get_mut(&item.sku) {
                    if *left < i64::from(item.quantity) {
                        return Err(CreateOrderError::Conflict(OutOfStock {
                            sku: Some(item.sku.clone()),
                            title: Some("Out of stock".into()),
                            status: Some(409),
                            ..OutOfStock::default()
                        }));
                    }
                    *left -= i64::from(item.quantity);
                }
            }
        }
        let total_cents = order
            .items
            .iter()
            .map(|i| i64::from(i.quantity) * 1_250)
            .sum();
        let created = Order {
            id: Some(Uuid::new_v4()),
            status: OrderStatus::Placed,
            created_at: Utc::now().fixed_offset(),
            total_cents,
            customer: order.customer,
            items: order.items,
            note: order.note,
            shipping: order.shipping,
            payment: order.payment,
        };
        let mut orders = self
            .orders
            .lock()
            .map_err(|_| CreateOrderError::Other(Self::unavailable()))?;
        if let Some(id) = created.id {
            orders.insert(id, created.clone());
        }
        Ok(created)
    }

    async fn get_order(
        &self,
        _context: RequestContext,
        request: GetOrderRequest,
    ) -> Result<Order, GetOrderError> {
        let orders = self
            .orders
            .lock()
            .map_err(|_| GetOrderError::Other(Self::unavailable()))?;
        orders
            .get(&request.order_id)
            .cloned()
            .ok_or_else(|| GetOrderError::NotFound(problem_body(not_found(&request.order_id))))
    }

    async fn cancel_order(
        &self,
        _context: RequestContext,
        request: CancelOrderRequest,
    ) -> Result<(), CancelOrderError> {
        let mut orders = self
            .orders
            .lock()
            .map_err(|_| CancelOrderError::Other(Self::unavailable()))?;
        let order = orders.get_mut(&request.order_id).ok_or_else(|| {
            CancelOrderError::NotFound(problem_body(not_found(&request.order_id)))
        })?;
        if order.status == OrderStatus::Shipped {
            return Err(CancelOrderError::Conflict(problem_body(
                Problem::new(409).with_detail("the order has shipped"),
            )));
        }
        order.status = OrderStatus::Cancelled;
        Ok(())
    }

    async fn update_order(
        &self,
        _context: RequestContext,
        request: UpdateOrderRequest,
    ) -> Result<Order, UpdateOrderError> {
        let mut orders = self
            .orders
            .lock()
            .map_err(|_| UpdateOrderError::Other(Self::unavailable()))?;
        let order = orders.get_mut(&request.order_id).ok_or_else(|| {
            UpdateOrderError::NotFound(problem_body(not_found(&request.order_id)))
        })?;
        // Absent leaves the note alone; null clears it (a merge patch).
        match request.body.note {
            contractor_runtime::Nullable::Absent => {}
            contractor_runtime::Nullable::Null => order.note = contractor_runtime::Nullable::Null,
            note => order.note = note,
        }
        if let Some(shipping) = request.body.shipping {
            order.shipping = Some(shipping);
        }
        Ok(order.clone())
    }
}
